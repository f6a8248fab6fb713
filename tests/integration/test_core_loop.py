"""The core loop end to end: a mail in through each intake, a ticket, a confirmation out.

Every test here runs for each intake (IMAP via a real Dovecot, the SMTP/LMTP
listener, the MTA pipe) and each database (SQLite, PostgreSQL), and delivers the
outbox to a real SMTP relay.
"""

from __future__ import annotations

import email
import io
import smtplib
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from maildesk import signing
from maildesk.context import Desk
from maildesk.daemon import fetch_once, send_outbox
from maildesk.inbound.sources.listener import Listener
from maildesk.inbound.sources.pipe import ingest_stream
from maildesk.models import Attachment, Inbound, Message, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.mails import DESK, make_bounce, make_mail
from tests.servers import ImapUser, Relay, free_port

pytestmark = pytest.mark.integration

Deliver = Callable[[bytes], None]


@pytest.fixture(params=["imap", "listener", "lmtp", "pipe"])
def intake(
    request: pytest.FixtureRequest, make_desk: DeskFactory, relay: Relay
) -> Iterator[tuple[Desk, Deliver]]:
    """A desk wired to the relay, and a function that delivers one raw mail through an intake."""
    smtp = {"host": relay.host, "port": relay.port, "security": "none"}
    kind = request.param
    if kind == "imap":
        user: ImapUser = request.getfixturevalue("imap_user")
        desk = make_desk(
            smtp=smtp,
            imap={
                "host": user.host,
                "port": user.port,
                "security": "none",
                "username": user.username,
                "password": user.password,
            },
        )
        fetch_once(desk)  # first pass: start from now on the empty mailbox

        def deliver(raw: bytes) -> None:
            user.server.append(user.username, raw)
            fetch_once(desk)

        yield desk, deliver
    elif kind in ("listener", "lmtp"):
        desk = make_desk(
            smtp=smtp,
            listener={
                "listen": f"127.0.0.1:{free_port()}",
                "protocol": "smtp" if kind == "listener" else "lmtp",
            },
        )
        assert desk.config.listener is not None
        listener = Listener((desk,), desk.config.listener)
        listener.start()

        def deliver(raw: bytes) -> None:
            client_cls = smtplib.SMTP if kind == "listener" else smtplib.LMTP
            with client_cls("127.0.0.1", listener.port) as client:
                refused = client.sendmail("vecina@correo.example", [DESK], raw)
                assert refused == {}

        yield desk, deliver
        listener.stop()
    else:
        desk = make_desk(smtp=smtp)

        def deliver(raw: bytes) -> None:
            code, _ = ingest_stream(
                desk, io.BytesIO(raw), envelope_from="vecina@correo.example", recipients=[DESK]
            )
            assert code == 0

        yield desk, deliver


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def body_text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def count(desk: Desk, model: Any, *where: Any) -> int:
    with desk.db.read_only() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def tickets(desk: Desk) -> list[Ticket]:
    with desk.db.read_only() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.number)))


def test_new_mail_becomes_ticket_and_confirmation_reaches_relay(
    intake: tuple[Desk, Deliver], relay: Relay
) -> None:
    """A resident's mail opens ticket 1 and the relay receives a threaded, signed confirmation."""
    desk, deliver = intake
    raw = make_mail(message_id="<first@correo.example>")
    deliver(raw)
    [ticket] = tickets(desk)
    assert ticket.number == 1 and ticket.requester_email == "vecina@correo.example"
    assert ticket.subject == "Fuga de agua en el depto 402" and ticket.state == "recibido"
    assert send_outbox(desk).sent == 1
    [out] = relay.wait_for(1)
    assert out.rcpt_tos == ("vecina@correo.example",)
    assert signing.parse_reply_address(out.mail_from, DESK, desk.secret) == 1
    mail = parse(out.raw)
    assert mail["Subject"] == "[#1] Fuga de agua en el depto 402"
    assert mail["From"].addresses[0].addr_spec == DESK
    assert mail["In-Reply-To"] == "<first@correo.example>"
    assert "<first@correo.example>" in mail["References"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert (
        signing.parse_reply_address(mail["Reply-To"].addresses[0].addr_spec, DESK, desk.secret) == 1
    )
    assert signing.parse_message_id(mail["Message-ID"], desk.secret) == 1
    text = body_text(mail)
    assert desk.status_url(ticket.status_token) in text
    assert "1" in text and "fuga de agua" in text.lower()
    html = mail.get_body(("html",))
    assert html is not None and desk.status_url(ticket.status_token) in str(html.get_content())


def _confirmation(desk: Desk, relay: Relay) -> EmailMessage:
    send_outbox(desk)
    return parse(relay.wait_for(1)[0].raw)


def test_reply_by_subject_tag_threads(intake: tuple[Desk, Deliver], relay: Relay) -> None:
    """The requester's reply naming [#1] in a Spanish reply chain joins ticket 1."""
    desk, deliver = intake
    deliver(make_mail())
    deliver(make_mail(subject="RE: RV: [#1] Fuga de agua en el depto 402", body="Sigue goteando."))
    assert [t.number for t in tickets(desk)] == [1]
    assert count(desk, Message, Message.direction == "inbound") == 2


def test_reply_by_in_reply_to_threads(intake: tuple[Desk, Deliver], relay: Relay) -> None:
    """A reply whose subject lost the tag still threads through In-Reply-To to our confirmation."""
    desk, deliver = intake
    deliver(make_mail())
    confirmation = _confirmation(desk, relay)
    deliver(
        make_mail(
            subject="otra cosa", in_reply_to=confirmation["Message-ID"], body="Adjunto más datos."
        )
    )
    assert [t.number for t in tickets(desk)] == [1]
    assert count(desk, Message, Message.direction == "inbound") == 2


def test_reply_by_signed_address_threads(
    intake: tuple[Desk, Deliver], relay: Relay, make_desk: DeskFactory
) -> None:
    """A reply sent to the signed Reply-To, with no tag and no headers, joins its ticket."""
    desk, deliver = intake
    deliver(make_mail())
    reply_to = _confirmation(desk, relay)["Reply-To"].addresses[0].addr_spec
    deliver(make_mail(to=reply_to, subject="sin asunto", body="Ya vino el gasfíter."))
    assert [t.number for t in tickets(desk)] == [1]
    assert count(desk, Message, Message.direction == "inbound") == 2


def test_stranger_naming_a_ticket_gets_a_new_one(
    intake: tuple[Desk, Deliver], relay: Relay
) -> None:
    """Someone not on ticket 1 who writes 'Re: [#1]' opens ticket 2, linked, and sees nothing of 1."""
    desk, deliver = intake
    deliver(make_mail())
    deliver(
        make_mail(
            sender="extrano@otro.example",
            sender_name="Extraño",
            subject="Re: [#1] Fuga de agua",
            body="¿Me cuentan?",
        )
    )
    first, second = tickets(desk)
    assert second.requester_email == "extrano@otro.example"
    assert second.related_ticket_id == first.id
    assert count(desk, Message, Message.ticket_id == first.id, Message.direction == "inbound") == 1
    send_outbox(desk)
    to_stranger = [
        parse(m.raw) for m in relay.wait_for(2) if m.rcpt_tos == ("extrano@otro.example",)
    ]
    assert len(to_stranger) == 1
    assert "[#2]" in to_stranger[0]["Subject"] and "[#1]" not in to_stranger[0]["Subject"]
    assert first.status_token not in body_text(to_stranger[0])


def test_auto_reply_and_bounce_get_no_answer(intake: tuple[Desk, Deliver], relay: Relay) -> None:
    """An out-of-office reply and a bounce are recorded on ticket 1 and answered by nobody."""
    desk, deliver = intake
    deliver(make_mail())
    confirmation = _confirmation(desk, relay)
    relay.clear()
    deliver(
        make_mail(
            subject="Respuesta automática: [#1] Fuga de agua en el depto 402",
            body="Estoy de vacaciones hasta el lunes.",
            in_reply_to=confirmation["Message-ID"],
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    deliver(bounce_for(confirmation, desk))
    deliver(
        make_mail(
            sender="boletin@lista.example",
            subject="Ofertas de noviembre",
            headers={"Precedence": "bulk", "List-Id": "<ofertas.lista.example>"},
        )
    )
    assert send_outbox(desk).sent == 0
    assert relay.messages == []
    with desk.db.read_only() as session:
        kinds = sorted(
            session.scalars(
                select(Message.kind).where(
                    Message.ticket_id == tickets(desk)[0].id, Message.public.is_(False)
                )
            )
        )
    assert kinds == ["auto_reply", "bounce"]
    assert [t.number for t in tickets(desk)] == [1, 2]  # the newsletter is kept, unanswered
    assert count(desk, Outbox) == 1


def bounce_for(original: EmailMessage, desk: Desk) -> bytes:
    """The bounce an MTA sends to our envelope sender when the confirmation cannot be delivered."""
    headers = "\n".join(
        f"{k}: {v}"
        for k, v in original.items()
        if k.lower() in ("from", "to", "subject", "message-id", "date")
    )
    return make_bounce(to=signing.reply_address(DESK, 1, desk.secret), original_headers=headers)


def test_spanish_subject_and_attachment_survive(
    intake: tuple[Desk, Deliver], relay: Relay, tmp_path: Path
) -> None:
    """Accents, Ñ and an attachment reach the database intact and come back out in our reply."""
    desk, deliver = intake
    photo = bytes(range(256)) * 40
    subject = "Señora Muñoz: ¿cuándo arreglan el ascensor de la torre B?"
    deliver(
        make_mail(
            subject=subject,
            body="El ascensor está detenido desde el miércoles. Adjunto foto.",
            attachments=[("foto_ascensor_ñandú.jpg", "image/jpeg", photo)],
        )
    )
    [ticket] = tickets(desk)
    assert ticket.subject == subject
    with desk.db.read_only() as session:
        [attachment] = session.scalars(select(Attachment))
        text = session.scalar(select(Message.text).where(Message.direction == "inbound"))
    assert (
        attachment.filename == "foto_ascensor_ñandú.jpg" and attachment.content_type == "image/jpeg"
    )
    assert desk.blobs.get(attachment.sha256) == photo
    assert text is not None and "miércoles" in text
    confirmation = _confirmation(desk, relay)
    assert confirmation["Subject"] == f"[#1] {subject}"
    assert "miércoles" in body_text(confirmation)


def test_same_mail_twice_is_one_ticket(intake: tuple[Desk, Deliver], relay: Relay) -> None:
    """The same mail delivered twice (an MTA retry, a refetch) makes one ticket and one confirmation."""
    desk, deliver = intake
    raw = make_mail(message_id="<dup@correo.example>")
    deliver(raw)
    deliver(raw)
    assert len(tickets(desk)) == 1
    assert count(desk, Outbox) == 1
    assert count(desk, Inbound) == 1


def test_reused_message_id_with_new_content_is_kept(
    intake: tuple[Desk, Deliver], relay: Relay
) -> None:
    """A client that reuses a Message-ID for a different mail loses nothing."""
    desk, deliver = intake
    deliver(
        make_mail(
            message_id="<same@correo.example>", subject="Ruido en el 301", body="Música fuerte."
        )
    )
    deliver(
        make_mail(
            message_id="<same@correo.example>",
            subject="Paquete en conserjería",
            body="¿Llegó mi paquete?",
        )
    )
    assert [t.subject for t in tickets(desk)] == ["Ruido en el 301", "Paquete en conserjería"]


def test_importing_the_past_sends_no_confirmations(
    make_desk: DeskFactory, imap_user: ImapUser
) -> None:
    """With import_existing, old mail in the mailbox becomes tickets but nobody gets an automatic mail."""
    for i in range(3):
        imap_user.server.append(
            imap_user.username, make_mail(subject=f"Antigua {i}", message_id=f"<old{i}@x>")
        )
    desk = make_desk(
        imap={
            "host": imap_user.host,
            "port": imap_user.port,
            "security": "none",
            "import_existing": True,
            "username": imap_user.username,
            "password": imap_user.password,
        }
    )
    assert fetch_once(desk) == 3
    assert [t.subject for t in tickets(desk)] == ["Antigua 0", "Antigua 1", "Antigua 2"]
    assert count(desk, Outbox) == 0
    imap_user.server.append(imap_user.username, make_mail(subject="Nueva", message_id="<new@x>"))
    assert fetch_once(desk) == 1
    assert count(desk, Outbox) == 1
