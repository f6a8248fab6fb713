"""A reply typed on the status page, written as the mail it stands for.

The page does not change tickets itself: it builds the RFC 5322 message the
resident's mail client would have sent (From the requester, To the ticket's
signed reply address, In-Reply-To our last public Message-ID) and hands its
bytes to `inbound.accept.accept`, so threading, state changes and staff notices are
exactly those of a mail. Every header goes through `compose`'s guards: a name or
subject stored with a line break cannot add a `From:` or `Authentication-Results:`
(and `dispatch` never reads a page reply as a staff mail anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from maildesk import signing
from maildesk.inbound.correlate import tagged_subject
from maildesk.outbound.compose import POLICY, address, put_header


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def build_reply(
    *,
    desk_address: str,
    desk_domain: str,
    secret: str,
    tag_prefix: str,
    number: int,
    subject: str,
    foreign_tags: Sequence[str],
    requester_email: str,
    requester_name: str,
    thread: Sequence[str],
    text: str,
    uploads: Sequence[Upload],
    now: datetime,
) -> bytes:
    """The raw bytes of the resident's reply; `thread` is the public Message-IDs, oldest first."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = address(requester_email, requester_name)
    msg["To"] = signing.reply_address(desk_address, number, secret)
    put_header(msg, "Subject", "Re: " + tagged_subject(subject, number, tag_prefix, foreign_tags))
    put_header(msg, "Date", format_datetime(now))
    put_header(msg, "Message-ID", make_msgid(idstring="web", domain=desk_domain))
    if thread:
        put_header(msg, "In-Reply-To", thread[-1])
        put_header(msg, "References", " ".join(thread))
    put_header(msg, "X-Maildesk-Channel", "web")
    msg.set_content(text or "")
    for upload in uploads:
        maintype, _, subtype = upload.content_type.partition("/")
        msg.add_attachment(
            upload.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=upload.filename,
        )
    return msg.as_bytes()
