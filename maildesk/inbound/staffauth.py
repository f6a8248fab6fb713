"""Is this mail really from a staff member? (pure)

A `From:` header is trivially forged, so a mail changes a ticket only when its
sender is configured staff AND the mail proves it:

1. it was sent to a reply address signed for that very staff member (only the
   notification we sent them carries it), or
2. the topmost `Authentication-Results` header was added by a server the operator
   trusts (`desk.trusted_authserv_ids`) and shows DKIM or SPF passing for the
   sender's own domain. Only the topmost header counts: anything below it may
   have been written by the sender (RFC 8601 section 5).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from maildesk import signing
from maildesk.config import Config, StaffConfig
from maildesk.domain import ParsedMail

_RESULT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.d|header\.i|smtp\.mailfrom|header\.from)\s*=\s*([^\s;]+)", re.I)


@dataclass(frozen=True, slots=True)
class StaffProof:
    member: StaffConfig | None
    proven: bool
    reason: str


def _domain(value: str) -> str:
    return value.strip().strip("<>").rpartition("@")[2].lower()


def _aligned(domain: str, sender_domain: str) -> bool:
    return domain == sender_domain or sender_domain.endswith("." + domain)


def authentication_passes(header: str, *, trusted: Sequence[str], sender_domain: str) -> str | None:
    """Which check passed for the sender's domain in one trusted header, else None."""
    authserv, _, results = header.partition(";")
    authserv_id = authserv.strip().split()[0].lower() if authserv.strip() else ""
    if authserv_id not in {t.lower() for t in trusted}:
        return None
    for method, result, rest in _RESULT.findall(results):
        if result.lower() != "pass":
            continue
        for name, value in _PROPERTY.findall(rest):
            if _aligned(_domain(value), sender_domain) and (
                (method.lower() == "dkim" and name.lower() in ("header.d", "header.i"))
                or (method.lower() == "spf" and name.lower() == "smtp.mailfrom")
                or (method.lower() == "dmarc" and name.lower() == "header.from")
            ):
                return f"{method.lower()}=pass for {sender_domain} by {authserv_id}"
    return None


def check(mail: ParsedMail, *, recipients: Sequence[str], config: Config) -> StaffProof:
    member = config.staff_member(mail.from_addr)
    if member is None:
        return StaffProof(None, False, "the sender is not configured staff")
    desk, secret = config.desk.address, config.desk.secret_key
    for address in recipients:
        if signing.proves_recipient(address.strip().strip("<>"), desk, secret, mail.from_addr):
            return StaffProof(member, True, f"sent to the reply address signed for {member.email}")
    headers = mail.headers.get("authentication-results", ())
    if headers and config.desk.trusted_authserv_ids:
        passed = authentication_passes(
            headers[0],
            trusted=config.desk.trusted_authserv_ids,
            sender_domain=_domain(member.email),
        )
        if passed:
            return StaffProof(member, True, passed)
    return StaffProof(
        member,
        False,
        f"From: {member.email} is not proven (no signed reply address for it, "
        "no trusted DKIM/SPF pass)",
    )
