"""SIGKILL at seeded points while a mailbox is imported: one ticket and ONE confirmation per mail.

The older crash test allows a resend with the same Message-ID; this one does not:
each kill lands between a relay's 250 and the database's record of it, and the relay
must still see each confirmation once (the 250's receipt settles it on restart).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.context import Desk
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.models import Inbound, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.integration.test_crash_restart import counts, start_daemon, wait_until
from tests.mails import make_mail
from tests.relay_process import recipients
from tests.servers import ImapUser, Relay, free_port

pytestmark = pytest.mark.integration

MAILS = 200
KILLS = 6
SEED = 20261130


@pytest.fixture
def relay_process(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A relay in a process of its own (see tests/relay_process.py): its port and its folder."""
    port, folder = free_port(), tmp_path / "relayed"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.relay_process", str(folder), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    try:
        yield port, folder
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(10)


def kill_in_the_record_window(pid: int, receipts: Path, timeout: float = 20.0) -> None:
    """SIGKILL `pid` the moment a relay's 250 is noted but not yet marked in the database.

    That is the window this test is about. A kill at any instant could also land in the
    SMTP exchange itself (after our final dot, before the relay's 250 reaches us), which
    no sender can close (RFC 1047).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if receipts.is_dir() and any(p.name.isdigit() for p in receipts.iterdir()):
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.0002)
    raise AssertionError("no 250 was ever seen waiting for its record")


def where(desk: Desk) -> str:
    """Where the import stands: tickets, mail and outbox rows by status (for a failure)."""
    with desk.db.read_only() as session:
        mail = session.execute(
            select(Inbound.status, Inbound.attempts, Inbound.last_error).where(
                Inbound.status != "processed"
            )
        ).all()
        queued = session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()
    return f"counts {counts(desk)}; unprocessed mail {mail}; outbox {queued}"


# SQLite is where the record of a 250 waited behind the intake's write lock; PostgreSQL
# has row locks, and the time budget allows one run.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_seeded_sigkills_during_an_import_send_each_confirmation_once(
    make_desk: DeskFactory, imap_user: ImapUser, relay_process: tuple[int, Path], tmp_path: Path
) -> None:
    """Six SIGKILLs at seeded points of a 200-mail import, each while a relay's 250 awaits its
    record; 200 tickets, 200 confirmations, none twice."""
    rng = random.Random(SEED)
    relay_port, kept = relay_process
    desk = make_desk(
        smtp={"host": "127.0.0.1", "port": relay_port, "security": "none", "timeout_seconds": 1},
        imap=imap_user.table(batch_size=10, poll_seconds=1),
    )
    config, log = tmp_path / "maildesk.toml", tmp_path / "daemon.log"
    daemon = start_daemon(config, log)
    try:
        wait_until(lambda: "maildesk is running" in log.read_text(), 30, "start-up", log)
        time.sleep(1.0)  # the watcher has set its starting point
        imap_user.server.append_many(
            imap_user.username,
            [
                make_mail(
                    sender=f"vecino{i}@correo.example",
                    subject=f"Solicitud {i} — baño del depto {100 + i}",
                    message_id=f"<kill{i}@correo.example>",
                )
                for i in range(MAILS)
            ],
        )
        for threshold in sorted(rng.sample(range(5, MAILS - 20), KILLS)):
            wait_until(lambda t=threshold: counts(desk)[2] >= t, 60, f"{threshold} sent", log)
            kill_in_the_record_window(daemon.pid, tmp_path / "data" / "receipts")
            daemon.wait(10)
            daemon = start_daemon(config, log)
        try:
            wait_until(lambda: counts(desk) == (MAILS, MAILS, MAILS), 240, "all confirmed", log)
        except AssertionError as failed:
            raise AssertionError(f"{where(desk)}\n{failed}") from None
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    with desk.db.read_only() as session:
        assert session.scalar(select(func.count(Ticket.id))) == MAILS
        per_ticket = Counter(session.scalars(select(Outbox.ticket_id)))
    assert len(per_ticket) == MAILS and set(per_ticket.values()) == {1}
    relayed = Counter(recipients(kept))
    twice = {rcpt: n for rcpt, n in relayed.items() if n > 1}
    assert twice == {}, f"confirmations relayed more than once: {twice}"
    assert len(relayed) == MAILS


def test_a_noted_250_is_settled_as_sent_and_a_stale_note_is_not(
    make_desk: DeskFactory, relay: Relay
) -> None:
    """A process killed after the relay's 250 left only its receipt: the next run records the
    mail as sent without sending it again; a receipt whose Message-ID differs settles nothing."""
    desk = make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"})
    for i in range(2):
        accept(desk, make_mail(sender=f"vecino{i}@correo.example"), source="pipe")
    with desk.db.read_only() as session:
        (first, mid), (second, _) = session.execute(select(Outbox.id, Outbox.mid)).all()
    receipts = desk.receipts()
    receipts.note(first, mid)
    receipts.note(second, "<left-over-from-another-desk@alameda.example>")
    assert send_outbox(desk).sent == 2
    assert [m.rcpt_tos for m in relay.messages] == [("vecino1@correo.example",)]
    with desk.db.read_only() as session:
        assert list(session.scalars(select(Outbox.status))) == ["sent", "sent"]
    assert receipts.noted() == {}
