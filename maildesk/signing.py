"""Signed identifiers: reply addresses, our Message-IDs and status-page tokens.

A signature lets us recognise our own reply address or Message-ID even when the
database never saw that exact value (a mail we sent from another worker, or
before a restore), and stops anyone from forging a reply address for a ticket
they were never told about. Randomness is passed in by the caller.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, date, datetime

from itsdangerous import BadSignature, URLSafeSerializer

_SIG_LEN = 10  # base32 characters: 50 bits, plenty for an address nobody can query
_EPOCH = date(1970, 1, 1)


def _sign(secret: str, purpose: str, value: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:_SIG_LEN]


def split_address(address: str) -> tuple[str, str]:
    """`local@domain` -> (local, domain), lower-cased."""
    local, _, domain = address.strip().lower().rpartition("@")
    return local, domain


def _reply_signature(secret: str, number: int, recipient: str | None, until: int | None) -> str:
    if recipient is None:
        return _sign(secret, "reply", str(number))
    return _sign(secret, "reply-to", f"{number}:{recipient.strip().lower()}:{until}")


def day_number(moment: datetime) -> int:
    """Whole days since 1970-01-01 in UTC: the expiry carried by a staff reply address."""
    return (moment.astimezone(UTC).date() - _EPOCH).days


def reply_address(desk_address: str, number: int, secret: str) -> str:
    """The address a reply about ticket `number` goes to: `local+N-sig@domain`."""
    local, domain = split_address(desk_address)
    return f"{local}+{number}-{_reply_signature(secret, number, None, None)}@{domain}"


def staff_reply_address(
    desk_address: str, number: int, secret: str, recipient: str, *, now: datetime, days: int
) -> str:
    """A reply address signed for one recipient, one ticket and `days` from `now`:
    `local+N-DAY-sig@domain`, DAY being the last day it proves anything. A reply from
    that recipient to it proves they received our mail (staff proof); each notice
    carries a fresh one."""
    local, domain = split_address(desk_address)
    until = day_number(now) + days
    sig = _reply_signature(secret, number, recipient, until)
    return f"{local}+{number}-{until}-{sig}@{domain}"


def _reply_parts(address: str, desk_address: str) -> tuple[int, int | None, str] | None:
    local, domain = split_address(address)
    desk_local, desk_domain = split_address(desk_address)
    if domain != desk_domain:
        return None
    match = re.fullmatch(re.escape(desk_local) + r"\+(\d{1,12})-(?:(\d{1,7})-)?([a-z2-7]+)", local)
    if not match:
        return None
    until = int(match.group(2)) if match.group(2) else None
    return int(match.group(1)), until, match.group(3)


def parse_reply_address(
    address: str, desk_address: str, secret: str, *, sender: str | None = None
) -> int | None:
    """The ticket number of a correctly signed reply address of this desk, else None.

    Accepts the ticket's own signature, and one signed for `sender` when given (expired
    or not: this says which ticket a mail is about, not who may act on it).
    """
    parts = _reply_parts(address, desk_address)
    if parts is None:
        return None
    number, until, sig = parts
    if until is None and hmac.compare_digest(_reply_signature(secret, number, None, None), sig):
        return number
    if sender and until is not None:
        expected = _reply_signature(secret, number, sender, until)
        return number if hmac.compare_digest(expected, sig) else None
    return None


def proves_recipient(
    address: str, desk_address: str, secret: str, sender: str, *, now: datetime
) -> int | None:
    """The ticket number when `address` was signed for `sender` itself and has not
    expired at `now`, else None."""
    parts = _reply_parts(address, desk_address)
    if parts is None or not sender:
        return None
    number, until, sig = parts
    if until is None or until < day_number(now):
        return None
    expected = _reply_signature(secret, number, sender, until)
    return number if hmac.compare_digest(expected, sig) else None


def is_desk_address(address: str, desk_address: str) -> bool:
    """True for the desk address itself and any `local+extension` of it."""
    local, domain = split_address(address)
    desk_local, desk_domain = split_address(desk_address)
    return domain == desk_domain and (local == desk_local or local.startswith(desk_local + "+"))


def message_id(domain: str, number: int, secret: str, nonce: str | None = None) -> str:
    """A Message-ID for a mail we send about ticket `number`, signed so we know it later."""
    nonce = nonce or secrets.token_hex(8)
    sig = _sign(secret, "mid", f"{number}.{nonce}")
    return f"<md.{number}.{nonce}.{sig}@{domain}>"


_MID = re.compile(r"<?md\.(\d{1,12})\.([0-9a-z]{1,64})\.([a-z2-7]+)@[^>]+>?")


def parse_message_id(value: str, secret: str) -> int | None:
    """The ticket number carried by one of our signed Message-IDs, else None."""
    match = _MID.fullmatch(value.strip().lower())
    if not match:
        return None
    number, nonce, sig = int(match.group(1)), match.group(2), match.group(3)
    expected = _sign(secret, "mid", f"{number}.{nonce}")
    return number if hmac.compare_digest(expected, sig) else None


def new_token() -> str:
    """A status-page token: 192 random bits, URL-safe, never derived from the number."""
    return secrets.token_urlsafe(24)


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison for tokens read from a URL."""
    return hmac.compare_digest(a.encode(), b.encode())


def attachment_signature(secret: str, number: int, attachment_id: int) -> str:
    """Signs a staff link to one attachment of one ticket (a large file a notice links)."""
    return _sign(secret, "staff-attachment", f"{number}:{attachment_id}")


def proves_attachment(secret: str, number: int, attachment_id: int, signature: str) -> bool:
    return hmac.compare_digest(attachment_signature(secret, number, attachment_id), signature)


_LIST_SALT = "maildesk-my-requests"


def list_link_token(secret: str, email: str, until: datetime) -> str:
    """A `/mis-solicitudes/<token>` token: an address and the moment it stops working,
    signed in full (the link shows every request of that address, in every building)."""
    payload = {"e": email.strip().lower(), "u": int(until.timestamp())}
    return str(URLSafeSerializer(secret, salt=_LIST_SALT).dumps(payload))


def read_list_link(secret: str, token: str) -> tuple[str, datetime] | None:
    """(address, until) of a token `list_link_token` made with `secret`; None if forged."""
    try:
        payload = URLSafeSerializer(secret, salt=_LIST_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    email, until = payload.get("e"), payload.get("u")
    if not isinstance(email, str) or not isinstance(until, int) or isinstance(until, bool):
        return None
    return email, datetime.fromtimestamp(until, tz=UTC)
