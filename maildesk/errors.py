"""The small exception taxonomy, mapped to outcomes in one place (`inbound/runner.py`).

- `IgnoreMail`: the mail is set aside on purpose (a loop, an unthreaded auto-reply);
  it is recorded with its reason and never answered.
- `TemporaryError`: try again later (database or relay unavailable); the MTA gets a
  4xx / exit 75, the mailbox keeps the mail.
- `PermanentError`: this mail can never be processed as it is; it is quarantined
  for a human with the reason. `RecipientRefused` is the relay's 5xx for an address.
- `ConfigError`: the configuration is wrong; the process stops before touching mail.
- `SchemaError`: the database is missing or older than the code; a command that does
  not migrate stops and says which command to run (exit 78, EX_CONFIG).
"""

from __future__ import annotations


class MaildeskError(Exception):
    """Base of everything maildesk raises on purpose."""


class ConfigError(MaildeskError):
    def __init__(self, source: str, key: str, expected: str, got: str) -> None:
        self.source, self.key, self.expected, self.got = source, key, expected, got
        super().__init__(f"{source}: {key}: expected {expected}, got {got}")


class IgnoreMail(MaildeskError):
    """Set aside on purpose; `reason` is recorded on the inbound receipt."""


class TemporaryError(MaildeskError):
    """Worth retrying later without human help."""


class PermanentError(MaildeskError):
    """Will fail again the same way; quarantine it for a human."""


class RecipientRefused(PermanentError):
    """The relay refused the address itself (5xx to RCPT TO): it bounces, so its ticket says so."""


class Refused(MaildeskError):
    """A ticket action that the state machine or the actor's rights do not allow.

    `code` is stable (templates and pages translate it); `detail` is for logs and staff.
    Nothing has changed when it is raised: the caller tells the actor, in their language.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {detail}" if detail else code)


class SchemaError(MaildeskError):
    """The database is missing or its schema is older than this maildesk."""


class BackupError(MaildeskError):
    """A backup or restore that cannot go on (a missing `pg_dump`, a damaged or newer
    archive, a desk that is not empty); the desk is left as it was."""
