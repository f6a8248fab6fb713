"""The batched intake: a backlog in one transaction a batch, each mail isolated by its savepoint;
and the outbox woken by the commit that queued a mail, not by its pause."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maildesk.clock import FixedClock, as_utc
from maildesk.context import Desk
from maildesk.daemon import Daemon
from maildesk.inbound import runner
from maildesk.inbound import store as ingest
from maildesk.inbound.accept import accept
from maildesk.models import Inbound, Ticket
from maildesk.outbound import doorbell, outbox
from maildesk.outbound.compose import Rendered
from maildesk.outbound.draft import Draft
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import Relay, free_port

pytestmark = pytest.mark.integration

KILL_IN_THE_THIRD = """
import os, signal, sys
from pathlib import Path
from maildesk import config
from maildesk.context import open_desk
from maildesk.inbound import runner

real, seen = runner.dispatch, []

def third_kills(session, desk, row, mail):
    seen.append(row.id)
    if len(seen) == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would, mid-batch
    return real(session, desk, row, mail)

runner.dispatch = third_kills
runner.BATCH_SECONDS = 3600.0  # a transaction per claim, whatever the machine's load
runner.CLAIM = 2
runner.process_pending(open_desk(config.load(Path(sys.argv[1])), upgrade=False))
"""


def stored(desk: Desk, count: int, tag: str) -> list[int]:
    """Store `count` mails without working them, as the mailbox watcher does."""
    with desk.db.transaction() as session:
        return [
            ingest.store(
                session,
                desk_id=desk.desk_id,
                raw=make_mail(
                    sender=f"vecino{i}@correo.example",
                    subject=f"{tag} {i}: fuga de agua en el depto {400 + i}",
                ),
                source="imap",
                now=desk.clock.now(),
            ).inbound_id
            for i in range(count)
        ]


def rows(desk: Desk) -> dict[int, tuple[str, int]]:
    with desk.db.read_only() as session:
        return {
            r.id: (r.status, r.attempts)
            for r in session.execute(select(Inbound.id, Inbound.status, Inbound.attempts))
        }


def tickets(desk: Desk) -> int:
    with desk.db.read_only() as session:
        return session.scalar(select(func.count(Ticket.id))) or 0


def test_a_failing_mail_in_a_batch_is_rolled_back_alone(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One mail failing mid-batch keeps its try failed; the batch's other mails are committed."""
    ids = stored(desk, 5, "Lote")
    real = runner.dispatch

    def third_fails(session: Any, desk: Desk, row: Inbound, mail: Any) -> None:
        real(session, desk, row, mail)  # its writes are made, then rolled back with it
        if row.id == ids[2]:
            raise ValueError("a mail this code did not foresee")

    monkeypatch.setattr(runner, "dispatch", third_fails)
    batches: list[list[int]] = []
    real_batch = runner.process_batch
    monkeypatch.setattr(
        runner,
        "process_batch",
        lambda d, reads: batches.append(list(reads)) or real_batch(d, reads),
    )
    report = runner.process_pending(desk)
    assert batches == [ids]
    assert report.by_status == {"processed": 4, "pending": 1}
    assert tickets(desk) == 4
    assert rows(desk)[ids[2]] == ("pending", 1)
    with desk.db.read_only() as session:
        failed = session.get(Inbound, ids[2])
        assert failed is not None and "did not foresee" in failed.last_error
    monkeypatch.setattr(runner, "dispatch", real)
    assert runner.process_pending(desk).by_status == {"processed": 1}
    assert tickets(desk) == 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_killed_mid_work_is_worked_one_mail_at_a_time_after(
    make_desk: DeskFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    """A kill mid-batch costs a try to the mails claimed and not committed, and only them;
    the next pass works the untouched one in a batch again, and those alone once their
    wait (`RETRY_WAIT`) is over."""
    desk = make_desk()
    ids = stored(desk, 5, "Corte")
    script = tmp_path / "kill.py"
    script.write_text(KILL_IN_THE_THIRD)
    before = datetime.now(UTC)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "maildesk.toml")])
    after = datetime.now(UTC)
    assert done.returncode == -9
    assert rows(desk) == {
        ids[0]: ("processed", 1),
        ids[1]: ("processed", 1),
        ids[2]: ("pending", 1),  # claimed with the third, which killed the process
        ids[3]: ("pending", 1),
        ids[4]: ("pending", 0),  # never claimed: no try lost
    }
    assert tickets(desk) == 2
    with desk.db.read_only() as session:
        waits = session.scalars(
            select(Inbound.next_attempt_at).where(Inbound.id.in_(ids[2:4]))
        ).all()
    assert all(before + runner.RETRY_WAIT <= as_utc(w) <= after + runner.RETRY_WAIT for w in waits)
    alone: list[int] = []
    real_one = runner.process_one
    monkeypatch.setattr(runner, "process_one", lambda d, i: alone.append(i) or real_one(d, i))
    clock.current = after  # the restart, seconds later: the interrupted two wait
    assert runner.process_pending(desk).by_status == {"processed": 1}
    assert alone == [] and tickets(desk) == 3
    clock.advance(runner.RETRY_WAIT)
    assert runner.process_pending(desk).by_status == {"processed": 2}
    assert alone == [ids[2], ids[3]]
    assert tickets(desk) == 5


def test_batches_are_bounded_by_count_and_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch holds at most `BATCH` mails and about `BATCH_BYTES`; a huge mail goes alone."""
    monkeypatch.setattr(runner, "BATCH", 3)
    monkeypatch.setattr(runner, "BATCH_BYTES", 100)
    sizes = [10, 10, 10, 10, 500, 40, 40, 40]
    queued = [runner.Queued(i, 0, size) for i, size in enumerate(sizes)]
    assert runner._batches(queued) == [[0, 1, 2], [3], [4], [5, 6], [7]]


def test_one_try_allowed_means_no_batches(
    make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `attempts = 1` a dead batch would use up every mail's only try: each goes alone."""
    desk = make_desk(limits={"attempts": 1})
    ids = stored(desk, 3, "Solo")
    alone: list[int] = []
    real_one = runner.process_one
    monkeypatch.setattr(runner, "process_one", lambda d, i: alone.append(i) or real_one(d, i))
    assert runner.process_pending(desk).by_status == {"processed": 3}
    assert alone == ids


def queue(session: Session, desk: Desk) -> None:
    draft = Draft(
        Rendered("Campana", "Hola", "<p>Hola</p>"),
        from_name="Soporte",
        from_addr=desk.address,
        to="vecina@correo.example",
        to_name="",
        message_id="<campana@alameda.example>",
        date=desk.clock.now(),
        loop_marker=desk.address,
    )
    outbox.enqueue(
        session,
        draft,
        desk_id=desk.desk_id,
        ticket=None,
        kind="lookup",
        recipient="vecina@correo.example",
        envelope_from=desk.address,
        automatic=False,
        now=desk.clock.now(),
        cap_per_hour=10,
    )


def test_the_bell_rings_after_the_commit_that_queued_mail(desk: Desk) -> None:
    """A queued mail rings the outbox's bell at its commit; a rolled-back one does not."""
    before = doorbell.BELL.generation
    with pytest.raises(RuntimeError), desk.db.transaction() as session:
        queue(session, desk)
        raise RuntimeError("rolled back")
    assert doorbell.BELL.generation == before
    with desk.db.transaction() as session:
        queue(session, desk)
        assert doorbell.BELL.generation == before  # not before the commit
    assert doorbell.BELL.generation == before + 1


def test_the_outbox_sends_a_confirmation_without_waiting_its_pause(
    make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the outbox's pause an hour long, a mail accepted by the listener is still confirmed."""
    monkeypatch.setattr("maildesk.daemon.OUTBOX_SECONDS", 3600.0)
    with Relay() as relay:
        desk = make_desk(
            smtp={"host": relay.host, "port": relay.port, "security": "none"},
            listener={"listen": f"127.0.0.1:{free_port()}"},
        )
        daemon = Daemon((desk,), ("outbox",))
        daemon.start()
        try:
            relay.wait_for(0, timeout=1)
            accept(desk, make_mail(), source="listener")
            [confirmation] = relay.wait_for(1, timeout=20)
            assert confirmation.rcpt_tos == ("vecina@correo.example",)
        finally:
            daemon.shutdown()


def test_a_mail_a_batch_has_in_hand_is_not_tried_again_by_another_thread(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher's pass, the scheduler's retry and the listener work stored mail in
    threads of one process: while a batch works its mails, the retry of any of them is
    skipped, so no mail is counted a second try (three would quarantine it)."""
    ids = stored(desk, 3, "en mano")
    real, retried = runner._dispatch_for_a_while, list[str]()

    def retry_meanwhile(desk_: Desk, batch: Any, mails: Any) -> list[str]:
        retried.extend(runner.process_one(desk_, i) for i in batch)
        return real(desk_, batch, mails)

    monkeypatch.setattr(runner, "_dispatch_for_a_while", retry_meanwhile)
    monkeypatch.setattr(runner, "BATCH_SECONDS", 3600.0)  # one transaction, however slow
    assert runner.process_pending(desk).by_status == {"processed": 3}
    assert retried == ["pending"] * 3
    with desk.db.read_only() as session:
        assert session.scalars(select(Inbound.attempts).where(Inbound.id.in_(ids))).all() == [1] * 3
