"""Build real RFC 5322 mails for tests, the way mail clients build them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

DESK = "soporte@alameda.example"


def make_mail(
    *,
    sender: str = "vecina@correo.example",
    sender_name: str = "María Ñúñez",
    to: str = DESK,
    subject: str = "Fuga de agua en el depto 402",
    body: str = "Hola, hay una fuga de agua en el baño del depto 402, torre B.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    cc: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    html: str | None = None,
) -> bytes:
    msg = EmailMessage(policy=SMTP)
    local, _, domain = sender.partition("@")
    msg["From"] = Address(sender_name, local, domain)
    msg["To"] = to
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="correo.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def make_bounce(
    *, to: str, original_headers: str, recipient: str = "vecina@correo.example"
) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes it."""
    text = f"""Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.correo.example>
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce.{abs(hash(original_headers))}@mx.correo.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.correo.example.
I'm sorry to have to inform you that your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.correo.example

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--BOUNDARY
Content-Type: text/rfc822-headers

{original_headers.strip()}

--BOUNDARY--
"""
    return text.replace("\n", "\r\n").encode()


def winmail_bomb(files: int) -> bytes:
    """A winmail.dat holding `files` tiny files: Outlook's own sample, its first file repeated."""
    import email as _email
    import struct
    from pathlib import Path

    sample = Path(__file__).resolve().parent / "data" / "mail" / "outlook_winmail_dat.eml"
    message = _email.message_from_bytes(sample.read_bytes())
    part = next(p for p in message.walk() if p.get_filename() == "winmail.dat")
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    starts, offset = [], 6
    while offset + 12 < len(data):
        name, length = struct.unpack_from("<HxxI", data, offset + 1)
        if name == 0x9002:  # attRendData: a file starts here
            starts.append(offset)
        offset += length + 11
    first = data[starts[0] : starts[1]]
    return data[: starts[1]] + first * (files - len(starts)) + data[starts[1] :]
