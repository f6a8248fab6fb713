"""Type, deadline and final cause by mail, end to end: a real mailbox, the relay, the SLA pass.

Seiton's desk requires a final cause to close and a photo as evidence for maintenance;
PVI's deadline set by staff becomes the due date the escalations watch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from maildesk.clock import FixedClock
from maildesk.daemon import fetch_once
from maildesk.models import Escalation
from maildesk.sla.escalate import run_pass
from tests.conftest import DeskFactory
from tests.integration.test_staff import (
    ANA,
    PHOTO,
    RESIDENT,
    STAFF,
    World,
    open_leak,
    staff_reply,
    text_of,
    to,
)
from tests.servers import ImapUser, Relay

pytestmark = pytest.mark.integration


@pytest.fixture
def world(make_desk: DeskFactory, imap_user: ImapUser, relay: Relay, clock: FixedClock) -> World:
    desk = make_desk(
        smtp={"host": relay.host, "port": relay.port, "security": "none"},
        imap=imap_user.table(),
        desk={"trusted_authserv_ids": ["mx.alameda.example"], "require_cause_on_close": True},
        staff=STAFF,
        causes={"desgaste": "Desgaste normal", "mal_uso": "Mal uso"},
        categories={
            "mantenimiento": {
                "keywords": ["fuga", "filtración"],
                "team": "mantenimiento",
                "require_attachment": True,
            }
        },
        types={"reclamo": {"name": "Reclamo", "hint": "Indica la unidad.", "deadline": "4h"}},
    )
    fetch_once(desk)
    return World(desk, imap_user, relay, clock)


def test_close_by_mail_needs_the_cause_and_the_photo(world: World) -> None:
    """#cerrar without #causa, then without the photo, is refused with a mail saying why; with both it closes."""
    notice = open_leak(world)
    mails = staff_reply(world, notice, ANA, "#cerrar cambié el sello de la llave")
    [refused] = to(mails, ANA)
    assert "comando no aplicado" in str(refused["Subject"])
    assert "causa final" in text_of(refused) and "desgaste, mal_uso" in text_of(refused)
    assert to(mails, RESIDENT) == []
    assert (world.ticket().state, world.ticket().cause) == ("recibido", None)

    mails = staff_reply(world, notice, ANA, "#cerrar cambié el sello\n#causa desgaste normal")
    [refused] = to(mails, ANA)
    assert "adjunto" in text_of(refused)
    assert (world.ticket().state, world.ticket().cause) == ("recibido", None)

    mails = staff_reply(
        world, notice, ANA, "#causa desgaste\n#cerrar cambié el sello", attachments=[PHOTO]
    )
    assert to(mails, ANA) == []
    ticket = world.ticket()
    assert (ticket.state, ticket.cause, ticket.outcome) == ("cerrado", "desgaste", "success")
    assert [e.kind for e in ticket.events].count("cause") == 1
    [closed] = to(mails, RESIDENT)
    assert "cambié el sello" in text_of(closed)


def test_deadline_and_type_move_the_due_date_and_the_escalation(
    world: World, clock: FixedClock
) -> None:
    """#tipo reclamo (4h) brings the due date forward; #plazo sets it to the end of that day, and the supervisor hears when it passes."""
    notice = open_leak(world)
    opened = world.ticket().opened_at
    assert world.ticket().due_at == opened + timedelta(hours=4)  # media's first response
    staff_reply(world, notice, ANA, "#tomar\nVamos a revisar hoy.")
    ticket = world.ticket()
    media_due = ticket.due_at
    assert media_due is not None and media_due > opened + timedelta(days=1)

    mails = staff_reply(world, notice, ANA, "#tipo reclamo\n#inicio 24/11/2026")
    ticket = world.ticket()
    assert (ticket.type, ticket.starts_on) == ("reclamo", date(2026, 11, 24))
    assert ticket.due_at == opened + timedelta(hours=4)
    assert to(mails, RESIDENT) == []

    staff_reply(world, notice, ANA, "#plazo 2026-11-25")
    ticket = world.ticket()
    deadline_end = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # midnight in Santiago
    assert (ticket.deadline, ticket.due_at) == (date(2026, 11, 25), deadline_end)

    clock.advance(deadline_end - timedelta(minutes=5) - clock.now())
    run_pass(world.desk)
    assert ("resolution", "assignee") in _levels(world)
    assert ("resolution", "supervisor") not in _levels(world)
    clock.advance(timedelta(minutes=10))
    run_pass(world.desk)
    assert ("resolution", "supervisor") in _levels(world)


def _levels(world: World) -> set[tuple[str, str]]:
    with world.desk.db.read_only() as session:
        return {(e.target, e.level) for e in session.scalars(select(Escalation))}
