"""Every ticket action called directly: the state, the events and the queued mails it leaves.

Mail, page and CLI tests only check that their input becomes these calls; here each
action is checked on a desk (SQLite and PostgreSQL) with a controllable clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.domain import Channel, Role, State, Via
from maildesk.errors import Refused
from maildesk.inbound import runner as process
from maildesk.inbound import store as ingest
from maildesk.models import Event, Outbox, Ticket
from maildesk.sla import escalate
from maildesk.tickets import opening, resident, staff, system
from maildesk.tickets.actor import Actor
from tests.conftest import DeskFactory
from tests.mails import make_mail

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


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF)


def actor(desk: Desk, email: str, via: Via = Via.CONSOLE) -> Actor:
    member = desk.config.staff_member(email)
    assert member is not None
    return Actor.staff(member, via)


@contextmanager
def ticket_of(desk: Desk, number: int = 1) -> Iterator[tuple[Session, Ticket]]:
    with desk.db.transaction() as session:
        yield session, session.scalars(select(Ticket).where(Ticket.number == number)).one()


def open_leak(desk: Desk, *, by: str = SOFIA) -> int:
    """Luis at the lobby takes a resident's call about a leak (routed to mantenimiento)."""
    with desk.db.transaction() as session:
        return opening.open_for_resident(
            session,
            desk,
            actor(desk, by),
            requester=RESIDENT,
            name="María Ñúñez",
            subject="Fuga de agua en el baño",
            text="Hay una fuga de agua en el depto 402.",
            channel=Channel.PHONE,
            now=desk.clock.now(),
        ).number


def mails(desk: Desk) -> list[tuple[str, str]]:
    """(kind, recipient) of every queued mail, oldest first."""
    with desk.db.read_only() as session:
        return [(o.kind, o.recipient) for o in session.scalars(select(Outbox).order_by(Outbox.id))]


def events(desk: Desk, number: int = 1) -> list[str]:
    with desk.db.read_only() as session:
        query = select(Event.kind).join(Ticket).where(Ticket.number == number).order_by(Event.id)
        return list(session.scalars(query))


def state_of(desk: Desk, number: int = 1) -> str:
    with ticket_of(desk, number) as (_, ticket):
        return ticket.state


def test_open_for_resident_confirms_and_notifies_the_routed_team(desk: Desk) -> None:
    """A phone request is recorded as the resident's words, confirmed to them, and announced to the team."""
    number = open_leak(desk)
    with ticket_of(desk, number) as (_, ticket):
        assert (ticket.state, ticket.channel, ticket.team) == ("recibido", "phone", "mantenimiento")
        [message] = [m for m in ticket.messages if m.direction == "inbound"]
        assert message.sender_email == RESIDENT and message.public
    assert events(desk) == ["created", "message", "confirmation_queued"]
    assert mails(desk) == [("confirmation", RESIDENT), ("staff_notice", ANA)]


def test_open_for_resident_refuses_a_bad_address_and_a_non_staff_actor(desk: Desk) -> None:
    """No ticket for "not-an-email", none by a resident acting as staff; nothing is written."""
    with pytest.raises(Refused) as bad, desk.db.transaction() as session:
        opening.open_for_resident(
            session,
            desk,
            actor(desk, ANA),
            requester="not-an-email",
            name="",
            subject="x",
            text="x",
            channel=Channel.PHONE,
            now=desk.clock.now(),
        )
    assert bad.value.code == "bad_address"
    with pytest.raises(Refused) as forbidden, desk.db.transaction() as session:
        opening.open_for_resident(
            session,
            desk,
            Actor.resident(RESIDENT, Via.CLI),
            requester=RESIDENT,
            name="",
            subject="x",
            text="x",
            channel=Channel.PHONE,
            now=desk.clock.now(),
        )
    assert forbidden.value.code == "forbidden"
    with desk.db.read_only() as session:
        assert session.scalars(select(Ticket)).first() is None


def test_take_then_wait_and_answer_is_one_mail_to_the_resident(desk: Desk) -> None:
    """Several actions in one update: each recorded, the resident gets only the answer."""
    open_leak(desk)
    before = len(mails(desk))
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, ANA), desk.clock.now()) as change,
    ):
        change.take()
        change.wait("Falta el repuesto.")
        change.answer("Pedimos el repuesto, llega el lunes.")
        assert (ticket.state, ticket.assignee) == ("en_espera", ANA)
        assert ticket.first_response_at is not None
    assert events(desk)[-4:] == ["assigned", "state", "state", "reply"]
    assert mails(desk)[before:] == [("staff_reply", RESIDENT)]


def test_take_alone_tells_the_resident_it_was_taken(desk: Desk) -> None:
    """Taking a new ticket moves it to en progreso and sends the short 'taken' notice."""
    open_leak(desk)
    before = len(mails(desk))
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, ANA), desk.clock.now()) as change,
    ):
        change.take()
    assert state_of(desk) == "en_progreso"
    assert mails(desk)[before:] == [("state_change", RESIDENT)]


def test_a_refused_action_undoes_the_whole_update(desk: Desk) -> None:
    """Take then close without a note: refused, and the take is undone too; nothing is queued."""
    open_leak(desk)
    before_events, before_mails = events(desk), mails(desk)
    with (
        pytest.raises(Refused) as refused,
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, ANA), desk.clock.now()) as change,
    ):
        change.take()
        change.close("")
    assert refused.value.code == "note_required"
    assert state_of(desk) == "recibido"
    assert events(desk) == before_events and mails(desk) == before_mails


def test_an_agent_of_another_team_may_answer_and_note_but_not_change(desk: Desk) -> None:
    """Luis (recepción) on a mantenimiento ticket: take refused; answer and note allowed."""
    open_leak(desk)
    with (
        pytest.raises(Refused) as refused,
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, LUIS), desk.clock.now()) as change,
    ):
        change.take()
    assert refused.value.code == "forbidden"
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, LUIS), desk.clock.now()) as change,
    ):
        change.answer("Le aviso a mantenimiento.")
        change.note("El vecino llamó dos veces.")
        assert ticket.state == "recibido" and ticket.assignee is None
    assert mails(desk)[-2:] == [("staff_reply", RESIDENT), ("staff_notice", ANA)]


def test_assign_to_an_unknown_person_is_refused_and_to_a_team_moves_it(desk: Desk) -> None:
    """Assign names a staff member or a team; anything else is refused."""
    open_leak(desk)
    with (
        pytest.raises(Refused) as refused,
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, SOFIA), desk.clock.now()) as change,
    ):
        change.assign("nadie")
    assert refused.value.code == "unknown_assignee"
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, SOFIA), desk.clock.now()) as change,
    ):
        change.assign("recepción")
        assert (ticket.team, ticket.assignee, ticket.state) == ("recepción", None, "en_progreso")
    assert ("staff_notice", LUIS) in mails(desk)


def test_resolve_and_confirm_close_and_tell_both_sides(desk: Desk) -> None:
    """Resolve asks the resident; their confirmation closes it, tells them and tells staff."""
    open_leak(desk)
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, ANA), desk.clock.now()) as change,
    ):
        change.take()
        change.resolve("Cambiamos el flexible.")
    assert mails(desk)[-1] == ("state_change", RESIDENT)
    before = len(mails(desk))
    with ticket_of(desk) as (session, ticket):
        resident.confirm(
            session, desk, ticket, Actor.resident(RESIDENT, Via.PAGE), now=desk.clock.now()
        )
        assert (ticket.state, ticket.outcome) == ("cerrado", "success")
    assert mails(desk)[before:] == [("state_change", RESIDENT), ("staff_notice", ANA)]


def test_confirm_outside_validation_and_by_a_stranger_are_refused(desk: Desk) -> None:
    """Only the ticket's resident confirms, and only a resolved ticket."""
    open_leak(desk)
    for who, code in ((RESIDENT, "not_in_validation"), ("otro@correo.example", "forbidden")):
        with pytest.raises(Refused) as refused, ticket_of(desk) as (session, ticket):
            resident.confirm(
                session, desk, ticket, Actor.resident(who, Via.PAGE), now=desk.clock.now()
            )
        assert refused.value.code == code


def test_reject_reopens_and_tells_staff(desk: Desk) -> None:
    """A rejected resolution goes back to en progreso and the holder hears it."""
    open_leak(desk)
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, ANA), desk.clock.now()) as change,
    ):
        change.take()
        change.resolve("Listo.")
    with ticket_of(desk) as (session, ticket):
        resident.reject(
            session,
            desk,
            ticket,
            Actor.resident(RESIDENT, Via.PAGE),
            now=desk.clock.now(),
            reason="Sigue goteando.",
        )
    assert state_of(desk) == "en_progreso"
    assert mails(desk)[-1] == ("staff_notice", ANA)


def test_rate_once_and_only_when_closed(desk: Desk) -> None:
    """A rating before closure is refused; after closure it is kept once."""
    open_leak(desk)
    me = Actor.resident(RESIDENT, Via.PAGE)
    with pytest.raises(Refused) as early, ticket_of(desk) as (session, ticket):
        resident.rate(session, desk, ticket, me, rating=5, comment="", now=desk.clock.now())
    assert early.value.code == "not_closed"
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, ANA), desk.clock.now()) as change,
    ):
        change.close("Resuelto en visita.")
    with ticket_of(desk) as (session, ticket):
        resident.rate(session, desk, ticket, me, rating=4, comment="Rápido", now=desk.clock.now())
    with pytest.raises(Refused) as again, ticket_of(desk) as (session, ticket):
        resident.rate(session, desk, ticket, me, rating=1, comment="", now=desk.clock.now())
    assert again.value.code == "already_rated"
    with ticket_of(desk) as (_, ticket):
        assert (ticket.rating, ticket.rating_comment) == (4, "Rápido")


def test_ask_vendor_mails_the_vendor_from_the_desk(desk: Desk) -> None:
    """The vendor becomes a participant and gets the request, signed for them."""
    open_leak(desk)
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, ANA), desk.clock.now()) as change,
    ):
        change.ask_vendor("Gasfiter@Proveedor.example", "¿Pueden venir mañana?")
        assert [(p.email, p.role) for p in ticket.participants][-1] == (
            "gasfiter@proveedor.example",
            "vendor",
        )
    assert mails(desk)[-1] == ("vendor_request", "gasfiter@proveedor.example")
    assert events(desk)[-1] == "vendor"


def test_auto_close_and_rotate_token(desk: Desk) -> None:
    """The system closes a resolved ticket (resident told) and issues a new status link."""
    open_leak(desk)
    with (
        ticket_of(desk) as (session, ticket),
        staff.update(session, desk, ticket, actor(desk, ANA), desk.clock.now()) as change,
    ):
        change.resolve("Listo.")
    with ticket_of(desk) as (session, ticket):
        system.auto_close(session, desk, ticket, now=desk.clock.now())
        old = ticket.status_token
        new = system.rotate_token(session, ticket, now=desk.clock.now())
        assert ticket.state == "cerrado" and new != old and len(new) >= 22
    assert mails(desk)[-1] == ("state_change", RESIDENT)
    assert events(desk)[-2:] == ["state", "token_rotated"]


def test_imported_mail_keeps_its_date_and_is_never_escalated(desk: Desk, clock: FixedClock) -> None:
    """Mail found in the mailbox: opened at its own date, nothing sent, marked imported, no escalation."""
    sent = datetime(2026, 10, 2, 12, 0, tzinfo=UTC)
    raw = re.sub(
        rb"^Date: [^\r\n]*", b"Date: Fri, 02 Oct 2026 09:00:00 -0300", make_mail(), flags=re.M
    )
    with desk.db.transaction() as session:
        ingest.store(
            session, desk_id=desk.desk_id, raw=raw, source="imap", now=clock.now(), backfill=True
        )
    process.process_pending(desk)
    with ticket_of(desk) as (_, ticket):
        assert ticket.imported and ticket.opened_at == sent
        assert {e.at for e in ticket.events} == {sent}
    assert mails(desk) == []
    clock.advance(timedelta(days=3))
    assert escalate.run_pass(desk).escalations == 0


def test_roles_are_one_enum() -> None:
    """Config roles and actor roles are the same words."""
    assert {r.value for r in Role} >= {"agent", "supervisor", "manager", "director", "admin"}
    assert State("validacion") is State.VALIDACION
