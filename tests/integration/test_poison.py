"""Poison mail and a filling disk: a mail that kills, bloats or stalls its reader never stops
the desk, and sent mail does not keep its bodies forever."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.clock import FixedClock, as_utc
from maildesk.context import Desk
from maildesk.daemon import Daemon, send_outbox
from maildesk.domain import ParsedMail
from maildesk.inbound import runner
from maildesk.inbound import store as ingest
from maildesk.inbound.accept import accept
from maildesk.models import Attachment, Inbound, Outbox, Ticket
from maildesk.sla.jobs import tick
from tests.conftest import DeskFactory
from tests.mails import make_mail, winmail_bomb
from tests.servers import free_port

pytestmark = pytest.mark.integration

KILL_MID_WORK = """
import os, signal, sys
from maildesk import config
from maildesk.context import open_desk
from maildesk.inbound import runner

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would, in the middle of the work

runner.dispatch = killed
from pathlib import Path
runner.process_pending(open_desk(config.load(Path(sys.argv[1])), upgrade=False))
"""


def stored(desk: Desk, raw: bytes) -> int:
    """Store a mail without working it, as an intake does before a crash."""
    with desk.db.transaction() as session:
        return ingest.store(
            session, desk_id=desk.desk_id, raw=raw, source="pipe", now=desk.clock.now()
        ).inbound_id


def inbound(desk: Desk, inbound_id: int) -> Inbound:
    with desk.db.read_only() as session:
        row = session.get(Inbound, inbound_id)
        assert row is not None
        session.expunge(row)
        return row


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_mail_that_kills_the_process_is_quarantined_after_its_tries(
    make_desk: DeskFactory, tmp_path: Path
) -> None:
    """Each try is counted before the work: a try SIGKILLed mid-way still uses one up."""
    desk = make_desk(limits={"attempts": 1})
    poison = stored(desk, make_mail(subject="mata al proceso"))
    script = subprocess.run(
        [sys.executable, "-c", KILL_MID_WORK, str(tmp_path / "maildesk.toml")], check=False
    )
    assert script.returncode == -signal.SIGKILL
    row = inbound(desk, poison)
    assert (row.status, row.attempts) == ("pending", 1)
    assert runner.process_pending(desk).by_status == {"quarantined": 1}
    row = inbound(desk, poison)
    assert row.status == "quarantined"
    assert "failed 1 times: try 1 did not finish" in row.reason


def test_a_mail_whose_try_never_came_back_waits_behind_fresh_mail(make_desk: DeskFactory) -> None:
    """After a kill, the mail it interrupted goes last: the next kill of a crash loop meets
    another mail, not the same innocent one every time."""
    desk = make_desk()
    suspect = stored(desk, make_mail(subject="en curso al morir"))
    fresh = [stored(desk, make_mail(subject=f"nueva {n}")) for n in range(2)]
    with desk.db.transaction() as session:
        row = session.get(Inbound, suspect)
        assert row is not None
        row.attempts, row.last_error = 1, runner.UNFINISHED.format(n=1)
    assert list(runner.pending_ids(desk)) == [*fresh, suspect]
    assert runner.process_pending(desk).by_status == {"processed": 3}


def test_the_wait_after_a_try_that_did_not_finish_grows_and_ends_at_the_last_try() -> None:
    """10 s after the first, 30 s after the second, at most 15 minutes; none after the last."""
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert runner.next_attempt(now, 1, 3) == now + timedelta(seconds=10)
    assert runner.next_attempt(now, 2, 3) == now + timedelta(seconds=30)
    assert runner.next_attempt(now, 3, 3) is None
    assert runner.next_attempt(now, 1, 1) is None
    assert runner.next_attempt(now, 9, 20) == now + timedelta(minutes=15)


@SQLITE_ONLY
def test_a_crash_loop_does_not_use_up_the_tries_of_the_mail_it_interrupted(
    make_desk: DeskFactory, tmp_path: Path, clock: FixedClock
) -> None:
    """Kills that come as fast as restarts meet the interrupted mail once: the restarted
    processes leave it for its wait, and then it is worked."""
    desk = make_desk()
    innocent = stored(desk, make_mail(subject="en curso al morir"))
    runs = [
        subprocess.run(
            [sys.executable, "-c", KILL_MID_WORK, str(tmp_path / "maildesk.toml")], check=False
        ).returncode
        for _ in range(3)
    ]
    assert runs == [-signal.SIGKILL, 0, 0]
    row = inbound(desk, innocent)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at is not None
    clock.current = as_utc(row.next_attempt_at)
    assert runner.process_pending(desk).by_status == {"processed": 1}


def test_a_mail_that_kills_every_try_is_still_quarantined_after_its_waits(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """The wait slows a poison mail's crash loop (10 s, then 30 s), never lets it go on:
    the third try that does not finish quarantines it at once."""
    desk = make_desk()
    poison = stored(desk, make_mail(subject="mata cada intento"))
    for wait in (timedelta(seconds=10), timedelta(seconds=30), None):
        assert runner.pending_ids(desk) == [poison]
        claimed = runner._claim(desk, poison)  # counted, then the process dies
        assert not isinstance(claimed, str)
        claimed.close()
        if wait is not None:
            clock.advance(wait - timedelta(seconds=1))
            assert runner.pending_ids(desk) == []
            clock.advance(timedelta(seconds=1))
    assert runner.process_pending(desk).by_status == {"quarantined": 1}
    assert "failed 3 times: try 3 did not finish" in inbound(desk, poison).reason


@SQLITE_ONLY
def test_reader_over_its_memory_limit_fails_the_try_and_the_queue_moves_on(
    make_desk: DeskFactory,
) -> None:
    """A mail that needs more memory than the reader may use is quarantined with the reason."""
    desk = make_desk(limits={"attempts": 1, "parse_memory_mb": 110})
    big = (  # built by hand: the stdlib takes seconds to fold 32 MB of base64
        b"From: ana@example.com\r\nTo: soporte@alameda.example\r\nSubject: plano\r\n"
        b"Message-ID: <plano@correo.example>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/pdf; name=plano.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"%" * (32 * 1024 * 1024))  # read at twice the mail: 86 MB
    )
    first = accept(desk, big, source="pipe")
    assert first.status == "quarantined"
    row = inbound(desk, first.inbound_id)
    assert row.attempts == 1 and "failed 1 times" in row.reason
    assert "out of memory (limit 110 MB)" in row.reason
    # the reader is replaced, and the next mail is read as usual
    assert accept(desk, make_mail(subject="Ascensor detenido"), source="pipe").status == "processed"


def test_winmail_bomb_becomes_a_ticket_with_what_fits(make_desk: DeskFactory) -> None:
    desk = make_desk(limits={"files": 100})
    raw = make_mail(attachments=[("winmail.dat", "application/ms-tnef", winmail_bomb(5000))])
    assert accept(desk, raw, source="pipe").status == "processed"
    with desk.db.read_only() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 1
        assert session.scalar(select(func.count(Attachment.id))) == 100


class BlockedReader:
    """A reader that holds the backlog's first mail until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def read(self, raw: bytes) -> ParsedMail:
        from maildesk.inbound.parse import parse_mail

        self.entered.set()
        self.release.wait(30)
        return parse_mail(raw)


def test_daemon_serves_before_it_works_the_backlog(
    make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page answers while the stored backlog is still being read."""
    port = free_port()
    desk = make_desk(web={"listen": f"127.0.0.1:{port}"})
    pending = stored(desk, make_mail())
    reader = BlockedReader()
    monkeypatch.setattr(runner, "reader_for", lambda limits: reader)
    daemon = Daemon((desk,), parts=("web",))
    starting = threading.Thread(target=daemon.start, daemon=True)
    starting.start()
    try:
        starting.join(10)
        assert not starting.is_alive(), "start() waited for the backlog"
        assert reader.entered.wait(10)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status in (200, 503)
        assert inbound(desk, pending).status == "pending"
    finally:
        reader.release.set()
        daemon.shutdown()
    assert inbound(desk, pending).status == "processed"


def test_a_restarted_daemon_comes_back_for_the_interrupted_mail_when_its_wait_ends(
    make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    """No scheduler needed: the start's own pass waits for the mail a killed run was
    working on, then works it."""
    monkeypatch.setattr(runner, "RETRY_WAIT", timedelta(seconds=2))
    desk = make_desk()
    interrupted = stored(desk, make_mail(subject="interrumpido"))
    claimed = runner._claim(desk, interrupted)  # the try of a run that was then killed
    assert not isinstance(claimed, str)
    claimed.close()
    daemon = Daemon((desk,), parts=("fetch",))  # intake, and no mailbox: no watcher
    daemon.start()
    try:
        assert runner.seconds_to_next_try(desk) == 2.0
        clock.advance(timedelta(seconds=2))
        deadline = time.monotonic() + 15
        while inbound(desk, interrupted).status == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        daemon.shutdown()
    row = inbound(desk, interrupted)
    assert (row.status, row.attempts) == ("processed", 2)
    assert runner.seconds_to_next_try(desk) is None


def test_a_worker_that_takes_in_no_mail_leaves_the_interrupted_mail_to_those_that_do(
    make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outbox worker's start works the stored mail once, and does not stay to wait for
    a mail whose try never came back."""
    monkeypatch.setattr(runner, "RETRY_WAIT", timedelta(seconds=1))
    desk = make_desk()
    interrupted = stored(desk, make_mail(subject="interrumpido"))
    claimed = runner._claim(desk, interrupted)
    assert not isinstance(claimed, str)
    claimed.close()
    daemon = Daemon((desk,), parts=("outbox",))
    daemon.start()
    try:
        backlog = next(t for t in daemon.threads if t.name.startswith("maildesk-backlog"))
        backlog.join(10)
        assert not backlog.is_alive()
    finally:
        daemon.shutdown()
    assert (inbound(desk, interrupted).status, inbound(desk, interrupted).attempts) == (
        "pending",
        1,
    )


def test_sent_bodies_are_pruned_after_the_retention_and_rows_kept(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """The scheduler's pass drops old sent bodies (with their attachments), never the record."""
    desk = make_desk(limits={"keep_sent_days": 30})
    accept(
        desk,
        make_mail(attachments=[("plano.pdf", "application/pdf", b"%" * 50_000)]),
        source="pipe",
    )
    send_outbox(desk)
    clock.advance(timedelta(days=31))
    accept(desk, make_mail(sender="otro@correo.example", subject="Ruido"), source="pipe")
    send_outbox(desk)
    tick(desk)
    with desk.db.read_only() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
    old, new = rows[0], rows[-1]
    assert old.status == "sent" and old.pruned_at is not None
    assert old.raw.endswith(b"\r\n\r\n") and b"Subject:" in old.raw and b"To:" in old.raw
    assert len(old.raw) < 3000 and old.recipient == "vecina@correo.example"
    assert new.pruned_at is None and len(new.raw) > len(old.raw)
