"""Hostile mail end to end (issue 15): in through the real listener, out at the real relay."""

from __future__ import annotations

import base64
import email
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlalchemy import select

from maildesk import signing
from maildesk.context import Desk
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.inbound.sources.listener import Listener
from maildesk.models import Inbound, Message, Outbox
from tests.conftest import DeskFactory
from tests.mails import DESK, make_bounce, make_mail
from tests.outmail import queued_mail
from tests.servers import Relay, free_port

pytestmark = pytest.mark.integration

REQUESTER = "vecina@correo.example"
ANA = "ana.perez@alameda.example"
# As a mail client writes it, quoted: mail-parser leaves this word undecoded.
NAME = '"=?utf-8?q?Eve=0D=0ABcc=3A_victim=40x=0D=0ASubject=3A_pwned?="'


@pytest.fixture
def listening(make_desk: DeskFactory, relay: Relay) -> Iterator[tuple[Desk, int]]:
    desk = make_desk(
        smtp={"host": relay.host, "port": relay.port, "security": "none"},
        listener={"listen": f"127.0.0.1:{free_port()}", "protocol": "smtp"},
        staff=[{"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]}],
    )
    assert desk.config.listener is not None
    listener = Listener((desk,), desk.config.listener)
    listener.start()
    yield desk, listener.port
    listener.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_encoded_crlf_in_the_name_and_subject_adds_no_header_at_the_relay(
    listening: tuple[Desk, int], relay: Relay
) -> None:
    """From name `"=?utf-8?q?Eve=0D=0ABcc:…?="` (quoted: mail-parser leaves it encoded) and a b-encoded Subject with CR/LF: each mail out has one Subject, no Bcc, its one recipient."""
    desk, port = listening
    subject = "=?utf-8?b?" + base64.b64encode(b"Fuga\r\nContent-Type: text/html").decode() + "?="
    raw = (
        f"From: {NAME} <{REQUESTER}>\r\nTo: {DESK}\r\nSubject: {subject}\r\n"
        "Message-ID: <hostile@correo.example>\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
        "\r\nHay una fuga en el depto 402.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", port) as client:
        assert client.sendmail(REQUESTER, [DESK], raw) == {}
    assert send_outbox(desk).sent == 2
    relayed = relay.wait_for(2)
    assert sorted(m.rcpt_tos for m in relayed) == [(ANA,), (REQUESTER,)]
    for out in relayed:
        mail = email.message_from_bytes(out.raw, policy=default)
        assert isinstance(mail, EmailMessage)
        assert len(mail.get_all("Subject") or []) == 1, out.raw[:600]
        assert mail["Bcc"] is None and mail["Cc"] is None
        assert "pwned" not in " ".join(k.lower() for k in mail)
        assert mail.get_content_type() in ("multipart/alternative", "multipart/mixed")
        [to] = mail["To"].addresses
        assert (to.addr_spec,) == out.rcpt_tos
    [confirmation] = [m for m in relayed if m.rcpt_tos == (REQUESTER,)]
    print(confirmation.raw[:300])
    print(confirmation.raw[:700])
    print(relayed[0].raw[:500] if relayed[0] is not confirmation else relayed[1].raw[:500])
    parsed = email.message_from_bytes(confirmation.raw, policy=default)
    assert parsed["To"].addresses[0].display_name == "Eve Bcc: victim@x Subject: pwned"


def _bounce_messages(desk: Desk) -> list[str]:
    with desk.db.read_only() as session:
        return list(session.scalars(select(Message.sender_email).where(Message.kind == "bounce")))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_strangers_fake_bounce_naming_a_ticket_is_not_filed_on_it(
    make_desk: DeskFactory,
) -> None:
    """A "bounce" from a stranger naming `[#1]` (and a Message-ID line that is not ours) is set aside; a real one carrying our signed Message-ID is filed."""
    desk = make_desk()
    accept(desk, make_mail(message_id="<first@correo.example>"), source="pipe")
    fake = make_mail(
        sender="mailer-daemon@intruso.example",
        subject="Undelivered Mail Returned to Sender [#1]",
        body="Su mensaje no se entregó.\nMessage-ID: <first@correo.example>\n",
        to=signing.reply_address(DESK, 2, "not our secret"),
    )
    accept(desk, fake, source="pipe")
    with desk.db.read_only() as session:
        row = session.scalars(select(Inbound).order_by(Inbound.id.desc())).first()
        assert row is not None and row.status == "ignored" and row.ticket_id is None
    [ours] = queued_mail(desk, Outbox.kind == "confirmation")
    assert _bounce_messages(desk) == []
    original = email.message_from_bytes(ours, policy=default)
    headers = "\n".join(f"{k}: {v}" for k, v in original.items() if k.lower() != "content-type")
    accept(desk, make_bounce(to=DESK, original_headers=headers), source="pipe")
    assert _bounce_messages(desk) == ["mailer-daemon@mx.correo.example"]
