"""`Database.read_row`: the status page's one read a view, on a connection each thread keeps."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text

from maildesk.context import Desk
from tests.conftest import DeskFactory

pytestmark = pytest.mark.integration

ONE = "SELECT 1"


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk()


def connects(desk: Desk) -> list[object]:
    """Every DBAPI connection the engine opens from now on."""
    opened: list[object] = []
    event.listen(desk.db.engine, "connect", lambda dbapi, _record: opened.append(dbapi))
    return opened


def test_a_thread_reads_on_one_connection_kept_out_of_the_pool(desk: Desk) -> None:
    """Many reads, one checkout per thread (the pool's checkout, return and ping cost more
    than the read); the kept connections are not counted as the pool's, so the daemon's
    units of work keep the whole pool."""
    desk.db.dispose()
    opened = connects(desk)
    checkouts: list[object] = []
    event.listen(desk.db.engine, "checkout", lambda dbapi, _rec, _proxy: checkouts.append(dbapi))
    for _ in range(5):
        assert desk.db.read_row(ONE, ()) == (1,)
    other = threading.Thread(target=lambda: [desk.db.read_row(ONE, ()) for _ in range(5)])
    other.start()
    other.join()
    assert len(checkouts) == 2 and len(opened) == 2
    assert desk.db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_failed_read_closes_its_connection_and_the_next_opens_another(desk: Desk) -> None:
    desk.db.dispose()
    opened = connects(desk)
    assert desk.db.read_row(ONE, ()) == (1,)
    with pytest.raises(Exception, match="nonsense"):
        desk.db.read_row("SELECT nonsense", ())
    assert desk.db.read_row(ONE, ()) == (1,)
    assert len(opened) == 2


def test_disposing_of_the_engine_closes_the_kept_connections(desk: Desk) -> None:
    """A restore or a test starts the pool over; the kept connections go with it."""
    desk.db.dispose()
    opened = connects(desk)
    assert desk.db.read_row(ONE, ()) == (1,)
    desk.db.engine.dispose()
    assert desk.db.read_row(ONE, ()) == (1,)
    assert len(opened) == 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_read_after_the_server_dropped_the_connection_fails_once_then_reconnects(
    desk: Desk,
) -> None:
    """A PostgreSQL restart (here: the backend terminated) costs one failed read; the view
    falls back to Flask for it, and the next read opens a new connection."""
    desk.db.dispose()
    pid = desk.db.read_row("SELECT pg_backend_pid()", ())[0]
    with desk.db.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's own error, whichever
        desk.db.read_row(ONE, ())
    assert desk.db.read_row("SELECT pg_backend_pid()", ())[0] != pid


def test_each_read_sees_every_commit_before_it(desk: Desk) -> None:
    """No transaction stays open on a kept connection between reads (a stale snapshot would
    show the page as it was, and on SQLite hold back the WAL's checkpoints)."""
    desk.db.dispose()
    count = "SELECT count(*) FROM desk"
    before = desk.db.read_row(count, ())[0]
    with desk.db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO desk (address, slug, name, next_number, created_at, sla_rules)"
                " VALUES ('otro@correo.example', 'otro', 'Otro', 1, '2026-12-01 09:00:00', '')"
            )
        )
    assert desk.db.read_row(count, ())[0] == before + 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_kept_connection_reads_in_autocommit(desk: Desk) -> None:
    """Each read is a transaction of its own: no BEGIN before it, no ROLLBACK after."""
    desk.db.dispose()
    desk.db.read_row(ONE, ())
    time.sleep(0.05)
    assert desk.db.read_row("SELECT now() = statement_timestamp()", ()) == (True,)
