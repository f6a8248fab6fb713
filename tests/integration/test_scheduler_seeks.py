"""The scheduler's minute seeks what is due: the pruning of sent bodies and the auto-close
of tickets left in validation read by index, not through the year behind them.

On SQLite the plans are read with `EXPLAIN QUERY PLAN` after `ANALYZE` on a desk with a
history of closed tickets and pruned mail, the statistics under which the planner once
chose to read every resolved ticket of the year; on PostgreSQL the indexes those seeks
use must exist (it scans tables this small, whatever the indexes).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import insert, select, update

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.models import Outbox, Ticket
from maildesk.sla.housekeeping import close_unanswered, prune_sent_mail
from tests.conftest import DeskFactory
from tests.mails import make_mail

pytestmark = pytest.mark.integration

YEAR = 3000  # tickets and sent mails behind the desk


def copies(desk: Desk, table: Any, count: int, change: Any) -> None:
    """`count` copies of the table's first row, each changed by `change(n, row)`."""
    with desk.db.engine.begin() as conn:
        first = dict(conn.execute(select(table).order_by(table.c.id).limit(1)).mappings().one())
        del first["id"]
        conn.execute(insert(table), [change(n, dict(first)) for n in range(count)])


@pytest.fixture
def year(make_desk: DeskFactory, clock: FixedClock) -> Desk:
    """A desk with a year of closed tickets and sent mail pruned long ago, and a few tickets
    in validation and bodies due now."""
    desk = make_desk(limits={"keep_sent_days": 30})
    accept(desk, make_mail(), source="pipe")
    send_outbox(desk)
    long_ago = clock.now() - timedelta(days=300)

    def closed(n: int, row: dict[str, Any]) -> dict[str, Any]:
        resolved = long_ago + timedelta(hours=n)
        state = "validacion" if n % 1000 == 0 else "cerrado"
        return {
            **row,
            "number": 100 + n,
            "status_token": f"t{n:031d}",
            "state": state,
            "resolved_at": resolved,
        }

    def pruned(n: int, row: dict[str, Any]) -> dict[str, Any]:
        sent = long_ago + timedelta(hours=n)
        return {**row, "mid": f"<y{n}@alameda.example>", "sent_at": sent, "pruned_at": sent}

    copies(desk, Ticket.__table__, YEAR, closed)
    copies(desk, Outbox.__table__, YEAR, pruned)
    with desk.db.engine.begin() as conn:
        conn.execute(update(Outbox).where(Outbox.id == 1).values(pruned_at=None))
        if not desk.db.is_postgres:
            conn.exec_driver_sql("ANALYZE")
    clock.advance(timedelta(days=40))
    return desk


def statements(desk: Desk, step: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    sqlalchemy.event.listen(desk.db.engine, "before_cursor_execute", record)
    try:
        step()
    finally:
        sqlalchemy.event.remove(desk.db.engine, "before_cursor_execute", record)
    return seen


def plans(desk: Desk, seen: list[tuple[str, Any]]) -> list[str]:
    with desk.db.engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        return [
            row[-1]
            for statement, parameters in seen
            for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]


def test_the_pruning_seeks_the_mail_sent_and_not_yet_pruned(year: Desk) -> None:
    seen = statements(year, lambda: prune_sent_mail(year))
    with year.db.read_only() as session:
        assert session.scalar(select(Outbox.pruned_at).where(Outbox.id == 1)) is not None
    if year.db.is_postgres:
        assert "ix_outbox_unpruned" in index_names(year)
        return
    read = [p for p in plans(year, seen) if re.search(r"\boutbox\b", p)]
    assert read and all(
        re.match(r"SEARCH outbox USING INDEX ix_outbox_unpruned \(status=\? AND pruned_at=", p)
        for p in read
    ), read


def test_the_auto_close_seeks_the_tickets_in_validation(year: Desk) -> None:
    seen = statements(year, lambda: close_unanswered(year))
    with year.db.read_only() as session:
        left = session.scalars(select(Ticket.state).where(Ticket.state == "validacion")).all()
    assert left == []  # the three in validation, resolved long ago, are closed
    if year.db.is_postgres:
        assert "ix_ticket_desk_state_resolved" in index_names(year)
        return
    read = [p for p in plans(year, seen) if re.search(r"\bticket\b", p)]
    assert read and all(re.search(r"state=\?|PRIMARY KEY", p) for p in read), read


def index_names(desk: Desk) -> set[str]:
    with desk.db.engine.connect() as conn:
        return set(conn.exec_driver_sql("SELECT indexname FROM pg_indexes").scalars())
