"""The desk's secret key: the generated `secret.key` file, and a check of a configured key.

Everything signed (reply addresses, Message-IDs, links, cookies) is only as good as
this key, so a short or empty one must never be used silently. The file is created
once, through a temporary file in the same folder that is fsynced and then linked
into place: a crash at any moment leaves either no key file or a whole one, never an
empty one, and two processes starting together end up with the same key.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from maildesk.errors import ConfigError

MIN_LENGTH = 32
# Words that stand for "put your key here" in docs and starters, not keys.
_PLACEHOLDERS = frozenset({"…", "...", "changeme", "change-me", "secret", "your-secret-key"})
_MIN_DISTINCT = 10

log = logging.getLogger(__name__)


def weakness(key: str) -> str | None:
    """Why `key` is weak, in words for the log, else None."""
    if key.strip().lower() in _PLACEHOLDERS:
        return "it is the documentation's placeholder"
    if len(key) < MIN_LENGTH:
        return f"it has {len(key)} characters (fewer than {MIN_LENGTH})"
    if len(set(key)) < _MIN_DISTINCT:
        return f"it uses only {len(set(key))} different characters"
    return None


def warn_if_weak(key: str, *, source: str) -> None:
    """Log a warning naming the file and key when the configured key is weak."""
    why = weakness(key)
    if why is not None:
        log.warning(
            "%s: desk.secret_key is weak (%s); use a random one of %d or more characters, "
            "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
            source,
            why,
            MIN_LENGTH,
        )


def _create(path: Path) -> None:
    """Write a new random key to `path` unless it exists: whole, 0600, durable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".secret.key.")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temp, path)  # a rename that never replaces a key already there
        except FileExistsError:
            return
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        os.unlink(temp)


def read_or_create(path: Path) -> str:
    """The key in `path`, created first when missing; a ConfigError naming the file
    when it is empty or too short (as a crash, or a hand edit, could leave it)."""
    if not path.exists():
        _create(path)
    key = path.read_text(encoding="ascii", errors="replace").strip()
    if len(key) < MIN_LENGTH:
        raise ConfigError(
            str(path),
            "desk.secret_key",
            f"a generated key of {MIN_LENGTH} or more characters (delete the file to make a "
            "new one: links and reply addresses already sent stop working)",
            f"{len(key)} characters",
        )
    return key
