"""Which of our mails a bounce reports as undelivered: the original Message-IDs,
from standard DSNs and from the many MTAs that send something else.
"""

from __future__ import annotations

import email.parser
import re
from collections.abc import Iterator
from email.message import Message

_MAX_DEPTH = 30
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_BOUNCE_SUBJECTS = (
    "undeliverable",
    "undelivered mail",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "failure notice",
    "returned mail",
    "mail delivery failed",
    "mail delivery system",
    "no se puede entregar",
    "no se pudo entregar",
    "non remis",
    "unzustellbar",
)
_ORIGINAL_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/rfc822-headers"})
_TEXT_MESSAGE_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def bounced_message_ids(message: Message, sender: str, subject: str, text: str) -> tuple[str, ...]:
    """Raw Message-ID values of the mail(s) a bounce reports as undelivered.

    A standard DSN is a multipart/report with the original attached. Many MTAs
    send something else, so a mail that looks like a bounce (daemon sender,
    X-Failed-Recipients, a bounce subject) is searched for an attached original
    or its headers, and last for a `Message-ID:` line in its text (qmail).
    A read receipt (report-type disposition-notification) is not a bounce.
    """
    reports = [
        part
        for part in _parts(message)
        if part.get_content_type() == "multipart/report"
        and str(part.get_param("report-type", "delivery-status")).lower() == "delivery-status"
    ]
    found: list[str] = []
    for report in reports:
        found += _original_ids(report)
    if not reports and _looks_like_bounce(message, sender, subject):
        found += _original_ids(message)
        if not found:
            found += [m.group(1) for m in _TEXT_MESSAGE_ID.finditer(text)]
    return tuple(dict.fromkeys(found))


def _looks_like_bounce(message: Message, sender: str, subject: str) -> bool:
    local = sender.partition("@")[0].lower()
    if local in _BOUNCE_SENDERS or local.startswith("microsoftexchange"):
        return True
    if message.get("x-failed-recipients") is not None:
        return True
    lowered = subject.lower()
    return any(marker in lowered for marker in _BOUNCE_SUBJECTS)


def _parts(message: Message, depth: int = 0) -> Iterator[Message]:
    """Every part, descending through multiparts but never into attached messages.

    A leaf's payload is never asked for: the stdlib copies a string payload to look for
    undecodable bytes, and a big attachment's is most of the mail.
    """
    yield message
    multipart = message.get_content_maintype() == "multipart" and message.is_multipart()
    if depth < _MAX_DEPTH and multipart:
        for child in message.get_payload():
            if isinstance(child, Message):
                yield from _parts(child, depth + 1)


def _original_ids(container: Message) -> list[str]:
    ids: list[str] = []
    for part in _parts(container):
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                ids += [str(v) for v in payload[0].get_all("message-id", [])]
            else:
                ids += _ids_in_header_block(part)
        elif ctype in _ORIGINAL_HEADER_TYPES:
            ids += _ids_in_header_block(part)
    return ids


def _ids_in_header_block(part: Message) -> list[str]:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return []
    headers = email.parser.BytesHeaderParser().parsebytes(data.lstrip())
    return [str(v) for v in headers.get_all("message-id", [])]
