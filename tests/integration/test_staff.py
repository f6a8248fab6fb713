"""Staff run the desk from their mail client, end to end over a real Dovecot and SMTP relay.

A resident writes; the right team is notified; staff reply as Gmail, Outlook, Apple
Mail and Thunderbird build replies; commands change the ticket; the resident only
ever sees the desk's address and the staff member's new words.
"""

from __future__ import annotations

import email
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from sqlalchemy import select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.daemon import fetch_once, send_outbox
from maildesk.models import Ticket
from maildesk.sla import housekeeping
from tests.clients import reply
from tests.conftest import DeskFactory
from tests.mails import DESK, make_mail
from tests.servers import ImapUser, Relay

pytestmark = pytest.mark.integration

ANA = "ana@alameda.example"  # agent, mantenimiento
LUIS = "luis@alameda.example"  # agent, recepción
SOFIA = "sofia@alameda.example"  # supervisor
RESIDENT = "vecina@correo.example"
STAFF = [
    {"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]},
    {"email": LUIS, "name": "Luis Ñúñez", "role": "agent", "teams": ["recepción"]},
    {"email": SOFIA, "name": "Sofía Rojas", "role": "supervisor", "teams": ["administración"]},
]


class World:
    """A desk on a real mailbox and relay, with the moves people make."""

    def __init__(self, desk: Desk, user: ImapUser, relay: Relay, clock: FixedClock) -> None:
        self.desk, self.user, self.relay, self.clock = desk, user, relay, clock
        self.seen = 0

    def deliver(self, raw: bytes) -> None:
        self.user.server.append(self.user.username, raw)
        fetch_once(self.desk)

    def flush(self) -> list[tuple[str, EmailMessage, bytes]]:
        """Send the outbox; the mails that reached the relay since last time."""
        send_outbox(self.desk)
        messages = self.relay.messages
        new = messages[self.seen :]
        self.seen = len(messages)
        return [(m.rcpt_tos[0], parse(m.raw), m.raw) for m in new]

    def resident_writes(self, **kwargs: Any) -> list[tuple[str, EmailMessage, bytes]]:
        self.deliver(make_mail(sender=RESIDENT, **kwargs))
        return self.flush()

    def ticket(self, number: int = 1) -> Ticket:
        with self.desk.db.read_only() as session:
            found = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            _ = found.messages, found.participants, found.events
            return found


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def to(mails: list[tuple[str, EmailMessage, bytes]], address: str) -> list[EmailMessage]:
    return [m for rcpt, m, _ in mails if rcpt == address]


@pytest.fixture
def world(make_desk: DeskFactory, imap_user: ImapUser, relay: Relay, clock: FixedClock) -> World:
    desk = make_desk(
        smtp={"host": relay.host, "port": relay.port, "security": "none"},
        imap=imap_user.table(),
        desk={
            "trusted_authserv_ids": ["mx.alameda.example"],
            "reopen_days": 7,
            "auto_close_days": 3,
        },
        staff=STAFF,
    )
    fetch_once(desk)
    return World(desk, imap_user, relay, clock)


PHOTO = ("foto_baño.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(range(200)) * 20)


def open_leak(world: World) -> EmailMessage:
    """A resident reports a leak; returns the notice Ana (mantenimiento) received."""
    mails = world.resident_writes(
        subject="Fuga de agua en el baño",
        body="Hay una filtración en el depto 402, torre B.",
        attachments=[PHOTO],
    )
    [notice] = to(mails, ANA)
    return notice


def staff_reply(
    world: World,
    notice: EmailMessage,
    sender: str,
    text: str,
    *,
    client: str = "gmail",
    language: str = "es",
    **kwargs: Any,
) -> list[tuple[str, EmailMessage, bytes]]:
    name = next(s["name"] for s in STAFF if s["email"] == sender)
    world.deliver(
        reply(
            notice,
            client=client,
            language=language,
            sender=sender,
            sender_name=name,
            text=text,
            **kwargs,
        )
    )
    return world.flush()


def test_new_request_notifies_the_right_team(world: World) -> None:
    """The leak goes to mantenimiento (Ana) with the resident's words, photo, unit and commands; recepción hears nothing."""
    mails = world.resident_writes(
        subject="Fuga de agua en el baño",
        body="Hay una filtración en el depto 402, torre B.",
        attachments=[PHOTO],
    )
    assert sorted(rcpt for rcpt, _, _ in mails) == [ANA, RESIDENT]
    [notice] = to(mails, ANA)
    body = text_of(notice)
    assert "filtración en el depto 402" in body and "torre B, depto 402" in body
    assert "mantenimiento" in body and "#tomar" in body and "#cerrar" in body
    assert "Primera respuesta: antes de" in body and "Solución: antes de" in body
    assert [p.get_filename() for p in notice.iter_attachments()] == ["foto_baño.jpg"]
    assert notice["Subject"] == "[#1] Fuga de agua en el baño"
    ticket = world.ticket()
    assert (ticket.category, ticket.team, ticket.unit) == (
        "mantenimiento",
        "mantenimiento",
        "torre B, depto 402",
    )


CLIENTS = [(c, lang) for c in ("gmail", "outlook", "apple", "thunderbird") for lang in ("es", "en")]


@pytest.mark.parametrize(
    ("client", "language"), CLIENTS, ids=[f"{c}-{lang}" for c, lang in CLIENTS]
)
def test_staff_reply_reaches_resident_as_new_text_only(
    world: World, client: str, language: str
) -> None:
    """Whatever the client, the resident gets only Ana's new words, from the desk address, with her name only."""
    notice = open_leak(world)
    words = "Hola María, mañana a las 10:00 pasa el gasfíter.\nPor favor deja acceso al baño."
    mails = staff_reply(
        world,
        notice,
        ANA,
        words,
        client=client,
        language=language,
        signature="Ana Pérez\nMantención",
        mobile=True,
    )
    [answer] = to(mails, RESIDENT)
    _, _, raw = next(m for m in mails if m[0] == RESIDENT)
    assert ANA.encode() not in raw and b"ana@" not in raw.lower()
    assert answer["From"].addresses[0].addr_spec == DESK
    assert "Ana Pérez" in answer["From"].addresses[0].display_name
    body = text_of(answer)
    assert body.startswith(words)
    assert (
        "escribió" not in body
        and "wrote:" not in body
        and "Enviado desde" not in body
        and "Mantención" not in body
    )
    assert answer["Subject"].endswith("[#1] Fuga de agua en el baño")
    ticket = world.ticket()
    assert ticket.first_response_at == world.clock.now()
    [public] = [m for m in ticket.messages if m.direction == "outbound" and m.kind == "staff_reply"]
    assert public.public and public.text == words


def test_staff_reply_attachment_goes_along(world: World) -> None:
    """A file attached by staff reaches the resident."""
    notice = open_leak(world)
    mails = staff_reply(
        world,
        notice,
        ANA,
        "Adjunto el presupuesto.",
        attachments=[("presupuesto_año.pdf", "application/pdf", b"%PDF-1.4 x")],
    )
    [answer] = to(mails, RESIDENT)
    assert [p.get_filename() for p in answer.iter_attachments()] == ["presupuesto_año.pdf"]


def test_take_note_priority_category_wait(world: World) -> None:
    """#tomar, #prioridad, #categoria, #espera and #nota in one reply: all applied, the note stays internal."""
    notice = open_leak(world)
    mails = staff_reply(
        world,
        notice,
        ANA,
        "#tomar\n#prioridad alta\n#categoría seguridad\n#espera proveedor\n#nota Hay que cortar el agua del piso.",
    )
    ticket = world.ticket()
    assert (ticket.assignee, ticket.priority, ticket.category, ticket.state) == (
        ANA,
        "alta",
        "seguridad",
        "en_espera",
    )
    [note] = [m for m in ticket.messages if m.kind == "note"]
    assert not note.public and "cortar el agua" in note.text
    resident = to(mails, RESIDENT)
    assert len(resident) == 1 and "en espera" in text_of(resident[0])
    assert all("cortar el agua" not in text_of(m) for m in resident)
    kinds = [e.kind for e in ticket.events]
    assert {"assigned", "priority", "category", "state", "note"} <= set(kinds)


def test_commands_only_reply_sends_the_resident_nothing(world: World) -> None:
    """A reply of only #prioridad changes the ticket and sends the resident nothing."""
    notice = open_leak(world)
    mails = staff_reply(world, notice, ANA, "#prioridad baja")
    assert world.ticket().priority == "baja"
    assert to(mails, RESIDENT) == []


def test_take_tells_the_resident_it_is_in_hand(world: World) -> None:
    """#tomar on a new ticket: the resident gets a short 'in hand' mail."""
    notice = open_leak(world)
    mails = staff_reply(world, notice, ANA, "#tomar")
    [mail] = to(mails, RESIDENT)
    assert "en manos" in text_of(mail) and ANA not in mail.as_string()
    assert world.ticket().state == "en_progreso"


def test_assign_notifies_the_new_assignee(world: World) -> None:
    """#asignar Luis moves the ticket to Luis, who is notified; Ana is not notified of her own act."""
    notice = open_leak(world)
    mails = staff_reply(world, notice, ANA, "#asignar luis@alameda.example")
    assert world.ticket().assignee == LUIS
    assert len(to(mails, LUIS)) == 1 and to(mails, ANA) == []


def test_resolve_then_resident_confirms(world: World) -> None:
    """#resuelto asks the resident to confirm; 'Sí, gracias' closes it with success."""
    notice = open_leak(world)
    mails = staff_reply(world, notice, ANA, "#resuelto Cambiamos el flexible del lavamanos.")
    [ask] = to(mails, RESIDENT)
    assert "confirm" in text_of(ask).lower()
    assert world.ticket().state == "validacion"
    world.deliver(
        reply(
            ask,
            client="gmail",
            language="es",
            sender=RESIDENT,
            sender_name="María",
            text="Sí, gracias, ya funciona.",
        )
    )
    world.flush()
    ticket = world.ticket()
    assert (ticket.state, ticket.outcome) == ("cerrado", "success")
    assert ticket.closed_at == world.clock.now()


def test_resolve_then_resident_rejects(world: World) -> None:
    """A resident who answers 'no, sigue goteando' reopens the ticket, and Ana hears of it."""
    notice = open_leak(world)
    [ask] = to(staff_reply(world, notice, ANA, "#tomar\n#resuelto Listo el cambio."), RESIDENT)
    world.deliver(
        reply(
            ask,
            client="outlook",
            language="es",
            sender=RESIDENT,
            sender_name="María",
            text="No, sigue goteando igual.",
        )
    )
    mails = world.flush()
    assert world.ticket().state == "en_progreso"
    [heads_up] = to(mails, ANA)
    assert "sigue goteando" in text_of(heads_up)


def test_close_requires_a_note_and_bad_commands_change_nothing(world: World) -> None:
    """Unknown command, #cerrar without note: nothing changes, the resident gets nothing, Ana gets why."""
    notice = open_leak(world)
    before = world.ticket()
    mails = staff_reply(world, notice, ANA, "#prioridad alta\n#volar alto\n#cerrar")
    after = world.ticket()
    assert (after.state, after.priority) == (before.state, before.priority)
    assert to(mails, RESIDENT) == []
    [error] = to(mails, ANA)
    body = text_of(error)
    assert "#volar alto" in body and "no cambió nada" in body
    assert "nota" in body.lower()


def test_agent_of_another_team_is_refused(world: World) -> None:
    """Luis (recepción) may not close mantenimiento's ticket; he is told why."""
    notice = open_leak(world)
    world.deliver(
        reply(
            notice,
            client="gmail",
            language="es",
            sender=LUIS,
            sender_name="Luis Ñúñez",
            text="#cerrar ya está",
            to=_signed_for(world, LUIS),
        )
    )
    mails = world.flush()
    assert world.ticket().state == "recibido"
    [error] = to(mails, LUIS)
    assert "rol" in text_of(error)


def _signed_for(world: World, address: str, number: int = 1) -> str:
    from maildesk import signing

    return signing.staff_reply_address(
        DESK, number, world.desk.secret, address, now=world.desk.clock.now(), days=30
    )


def test_supervisor_closes_without_success(world: World) -> None:
    """Sofía (supervisor) closes any ticket 'sin éxito' with a reason; the resident is told."""
    open_leak(world)
    original = parse(world.relay.messages[0].raw)
    world.deliver(
        reply(
            original,
            client="thunderbird",
            language="es",
            sender=SOFIA,
            sender_name="Sofía Rojas",
            text="#cerrar sin-exito El propietario no autorizó la reparación.",
            to=_signed_for(world, SOFIA),
        )
    )
    mails = world.flush()
    ticket = world.ticket()
    assert (ticket.state, ticket.outcome) == ("cerrado", "failure")
    assert "no autorizó" in ticket.resolution
    [told] = to(mails, RESIDENT)
    assert "sin poder resolverse" in text_of(told)


def test_forged_staff_from_changes_nothing(world: World) -> None:
    """A mail with Ana's From: but not to her signed address nor DKIM-proven is kept internal and flagged."""
    open_leak(world)
    world.deliver(
        make_mail(
            sender=ANA,
            sender_name="Ana Pérez",
            subject="RE: [#1] Fuga de agua en el baño",
            body="#cerrar todo listo\nYa está.",
        )
    )
    mails = world.flush()
    ticket = world.ticket()
    assert ticket.state == "recibido"
    [flagged] = [m for m in ticket.messages if m.kind == "unverified"]
    assert not flagged.public and "not proven" in flagged.text
    assert to(mails, RESIDENT) == []


def test_staff_proven_by_trusted_dkim_opens_a_ticket_for_a_resident(world: World) -> None:
    """#abrir from Luis, DKIM-passed by the trusted server: a ticket for the resident, who is confirmed."""
    world.deliver(
        make_mail(
            sender=LUIS,
            sender_name="Luis Ñúñez",
            subject="Llave del estacionamiento",
            body="#abrir vecino@correo.example\nEl vecino del 301 perdió su tarjeta de acceso.",
            headers={
                "Authentication-Results": "mx.alameda.example; dkim=pass header.d=alameda.example; spf=pass smtp.mailfrom=luis@alameda.example"
            },
        )
    )
    mails = world.flush()
    ticket = world.ticket()
    assert ticket.requester_email == "vecino@correo.example"
    assert ticket.subject == "Llave del estacionamiento"
    [confirmation] = to(mails, "vecino@correo.example")
    assert "[#1]" in confirmation["Subject"]
    assert any(e.kind == "created" and e.actor == LUIS for e in ticket.events)


def test_untrusted_authentication_results_prove_nothing(world: World) -> None:
    """An Authentication-Results written by the sender (not the trusted server) opens nothing for anyone; Luis is told why."""
    world.deliver(
        make_mail(
            sender=LUIS,
            sender_name="Luis",
            subject="Intento",
            body="#abrir victima@correo.example\nspam",
            headers={
                "Authentication-Results": "mx.evil.example; dkim=pass header.d=alameda.example"
            },
        )
    )
    mails = world.flush()
    with world.desk.db.read_only() as session:
        assert session.scalars(select(Ticket)).first() is None
    [told] = to(mails, LUIS)
    assert "no cambió nada" in told["Subject"]
    assert to(mails, "victima@correo.example") == []


def test_vendor_gets_the_request_and_replies_internally(world: World) -> None:
    """#proveedor sends the summary and photo to the vendor; the vendor's reply is internal and Ana is told."""
    notice = open_leak(world)
    mails = staff_reply(
        world, notice, ANA, "#tomar\n#proveedor gasfiter@proveedor.example ¿Pueden venir mañana?"
    )
    [request] = to(mails, "gasfiter@proveedor.example")
    body = text_of(request)
    assert "¿Pueden venir mañana?" in body and "filtración" in body
    assert [p.get_filename() for p in request.iter_attachments()] == ["foto_baño.jpg"]
    assert ANA not in request.as_string()
    world.deliver(
        reply(
            request,
            client="outlook",
            language="es",
            sender="gasfiter@proveedor.example",
            sender_name="Gasfitería Ñuble",
            text="Vamos mañana a las 9.",
        )
    )
    mails = world.flush()
    ticket = world.ticket()
    [vendor] = [m for m in ticket.messages if m.kind == "vendor"]
    assert not vendor.public and vendor.text == "Vamos mañana a las 9."
    assert to(mails, RESIDENT) == []
    assert len(to(mails, ANA)) == 1


def test_reopen_after_close_and_new_ticket_much_later(world: World) -> None:
    """A reply within reopen_days reopens; one after it opens ticket 2 linked to ticket 1."""
    notice = open_leak(world)
    [closed] = to(staff_reply(world, notice, ANA, "#tomar\n#cerrar Reparado."), RESIDENT)
    world.clock.advance(timedelta(days=2))
    world.deliver(
        reply(
            closed,
            client="apple",
            language="es",
            sender=RESIDENT,
            sender_name="María",
            text="Volvió a gotear.",
        )
    )
    world.flush()
    assert world.ticket().state == "en_progreso"
    notice2 = to(staff_reply(world, notice, ANA, "#cerrar Reparado de nuevo."), RESIDENT)[0]
    world.clock.advance(timedelta(days=30))
    world.deliver(
        reply(
            notice2,
            client="gmail",
            language="es",
            sender=RESIDENT,
            sender_name="María",
            text="Otra vez gotea.",
        )
    )
    world.flush()
    first, second = world.ticket(1), world.ticket(2)
    assert first.state == "cerrado" and second.related_ticket_id == first.id
    assert second.requester_email == RESIDENT


def test_unanswered_validation_closes_by_itself(world: World) -> None:
    """After auto_close_days without an answer, a resolved ticket closes and the resident is told."""
    notice = open_leak(world)
    staff_reply(world, notice, ANA, "#resuelto Listo.")
    world.clock.advance(timedelta(days=2))
    assert housekeeping.close_unanswered(world.desk) == 0
    world.clock.advance(timedelta(days=2))
    assert housekeeping.close_unanswered(world.desk) == 1
    assert world.ticket().state == "cerrado"
    assert len(to(world.flush(), RESIDENT)) == 1


def test_resident_reply_resumes_a_waiting_ticket(world: World) -> None:
    """A resident's answer to a ticket waiting on them resumes it and tells the assignee."""
    notice = open_leak(world)
    mails = staff_reply(world, notice, ANA, "#tomar\n#espera\n¿Nos envías una foto del medidor?")
    [question] = to(mails, RESIDENT)
    assert "foto del medidor" in text_of(question) and "espera" in text_of(question)
    assert world.ticket().state == "en_espera"
    world.deliver(
        reply(
            question,
            client="apple",
            language="es",
            sender=RESIDENT,
            sender_name="María",
            text="Aquí va la foto.",
            attachments=[PHOTO],
        )
    )
    mails = world.flush()
    assert world.ticket().state == "en_progreso"
    [heads_up] = to(mails, ANA)
    assert "Aquí va la foto." in text_of(heads_up)


def test_status_reopen_and_assign_to_a_team(world: World) -> None:
    """#estado en progreso, #asignar a team, then #cerrar and #reabrir: each recorded, the resident told of the reopening."""
    notice = open_leak(world)
    staff_reply(world, notice, ANA, "#estado en progreso\n#asignar recepción")
    ticket = world.ticket()
    assert (ticket.state, ticket.team, ticket.assignee) == ("en_progreso", "recepción", None)
    original = parse(world.relay.messages[0].raw)
    world.deliver(
        reply(
            original,
            client="gmail",
            language="es",
            sender=SOFIA,
            sender_name="Sofía Rojas",
            text="#cerrar Se reemplazó la llave de paso.",
            to=_signed_for(world, SOFIA),
        )
    )
    world.flush()
    assert world.ticket().state == "cerrado"
    world.deliver(
        reply(
            original,
            client="gmail",
            language="es",
            sender=SOFIA,
            sender_name="Sofía Rojas",
            text="#reabrir",
            to=_signed_for(world, SOFIA),
        )
    )
    mails = world.flush()
    ticket = world.ticket()
    assert ticket.state == "en_progreso" and ticket.closed_at is None and ticket.outcome is None
    [told] = to(mails, RESIDENT)
    assert "Reabrimos" in text_of(told)
    assert [e.kind for e in ticket.events].count("state") == 3
