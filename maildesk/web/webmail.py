"""A reply typed on the status page, written as the mail it stands for.

The page does not change tickets itself: it builds the RFC 5322 message the
resident's mail client would have sent (From the requester, To the ticket's
signed reply address, In-Reply-To our last public Message-ID) and hands its
bytes to `inbound.accept.accept`, so threading, state changes and staff notices are
exactly those of a mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from maildesk import signing
from maildesk.inbound.correlate import tagged_subject
from maildesk.outbound.compose import POLICY, address


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
    msg["Subject"] = "Re: " + tagged_subject(subject, number, tag_prefix, foreign_tags)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(idstring="web", domain=desk_domain)
    if thread:
        msg["In-Reply-To"] = thread[-1]
        msg["References"] = " ".join(thread)
    msg["X-Maildesk-Channel"] = "web"
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
