"""The scheduler's passes run on one worker at a time: a second worker skips what one runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.db import Database
from maildesk.inbound.accept import accept
from maildesk.models import Escalation
from maildesk.sla.jobs import LOCK_TICK, tick
from tests.conftest import DeskFactory
from tests.mails import make_mail

pytestmark = pytest.mark.integration

STAFF = [{"email": "sofia@alameda.example", "name": "Sofía Rojas", "role": "supervisor"}]


def escalations(desk: Desk) -> int:
    with desk.db.read_only() as session:
        return int(session.scalar(select(func.count(Escalation.id))) or 0)


@pytest.fixture
def overdue_desk(make_desk: DeskFactory, clock: FixedClock) -> Desk:
    """A desk with one urgent request past its first-response target."""
    desk = make_desk(staff=STAFF)
    accept(desk, make_mail(subject="URGENTE: fuga de gas en la torre B"), source="pipe")
    clock.advance(timedelta(days=2))
    return desk


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_tick_is_skipped_while_another_worker_runs_one(overdue_desk: Desk) -> None:
    """Another connection (another worker) holding the tick's lock: this tick does nothing."""
    other = Database(overdue_desk.db.url)  # its own engine, as in another process
    try:
        with other.one_worker(LOCK_TICK, overdue_desk.desk_id) as mine:
            assert mine
            assert tick(overdue_desk).skipped
            assert escalations(overdue_desk) == 0
            with other.one_worker(LOCK_TICK, overdue_desk.desk_id) as again:
                assert not again  # not even the holder's own second connection
        report = tick(overdue_desk)
    finally:
        other.dispose()
    assert not report.skipped and report.escalations > 0
    assert escalations(overdue_desk) == report.escalations


def test_a_tick_runs_when_no_other_worker_does(overdue_desk: Desk) -> None:
    """SQLite (one writer) and PostgreSQL alike: an uncontested tick runs, a second adds nothing."""
    first = tick(overdue_desk)
    assert not first.skipped and first.escalations > 0
    assert tick(overdue_desk).escalations == 0
    assert escalations(overdue_desk) == first.escalations
