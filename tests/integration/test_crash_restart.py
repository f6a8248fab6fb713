"""Kill the daemon with SIGKILL in the middle of a batch, start it again: nothing lost, nothing twice."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.context import Desk
from maildesk.models import Inbound, MailboxPosition, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import ImapUser, Relay

pytestmark = [pytest.mark.integration, pytest.mark.long]

MAILS = 40


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maildesk",
            "--config",
            str(config),
            "run",
            "--only",
            "fetch,outbox,scheduler",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=config.parent,
    )


def counts(desk: Desk) -> tuple[int, int, int]:
    with desk.db.read_only() as session:
        tickets = session.scalar(select(func.count(Ticket.id))) or 0
        done = (
            session.scalar(select(func.count(Inbound.id)).where(Inbound.status == "processed")) or 0
        )
        sent = session.scalar(select(func.count(Outbox.id)).where(Outbox.status == "sent")) or 0
    return int(tickets), int(done), int(sent)


def started_from(desk: Desk) -> bool:
    """The watcher has set its starting point: mail appended from now on is imported."""
    with desk.db.read_only() as session:
        return session.scalar(select(func.count(MailboxPosition.mailbox))) == 1


def wait_until(predicate: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; daemon log:\n{log.read_text()[-3000:]}")


def test_sigkill_mid_batch_loses_and_duplicates_nothing(
    make_desk: DeskFactory, imap_user: ImapUser, relay: Relay, tmp_path: Path
) -> None:
    """Three SIGKILLs while 40 mails are fetched, processed and confirmed; in the end 40 tickets and 40 confirmations."""
    desk = make_desk(
        smtp={"host": relay.host, "port": relay.port, "security": "none", "timeout_seconds": 3},
        # The shortest lease: a restarted daemon takes over from the killed holder once its
        # lease expires, and with the default (60 s) each restart would only wait for it.
        imap=imap_user.table(batch_size=4, poll_seconds=1, lease_seconds=5),
    )
    config, log = tmp_path / "maildesk.toml", tmp_path / "daemon.log"
    daemon = start_daemon(config, log)
    try:
        wait_until(
            lambda: "listening" in log.read_text() or "maildesk is running" in log.read_text(),
            30,
            "start-up",
            log,
        )
        wait_until(lambda: started_from(desk), 30, "the mailbox's starting point", log)
        for i in range(MAILS):
            imap_user.server.append(
                imap_user.username,
                make_mail(
                    sender=f"residente{i}@correo.example",
                    subject=f"Solicitud número {i} — depto {100 + i}",
                    message_id=f"<crash{i}@correo.example>",
                ),
            )
        for threshold in (3, 15, 27):
            wait_until(lambda t=threshold: counts(desk)[0] >= t, 60, f"{threshold} tickets", log)
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait(10)
            daemon = start_daemon(config, log)
        wait_until(
            lambda: counts(desk) == (MAILS, MAILS, MAILS),
            120,
            f"every mail processed and confirmed, {counts(desk)}",
            log,
        )
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    with desk.db.read_only() as session:
        per_ticket = session.execute(
            select(Outbox.ticket_id, func.count(Outbox.id)).group_by(Outbox.ticket_id)
        ).all()
        subjects = sorted(session.scalars(select(Ticket.subject)))
    assert len(per_ticket) == MAILS and all(n == 1 for _, n in per_ticket)
    assert subjects == sorted(f"Solicitud número {i} — depto {100 + i}" for i in range(MAILS))
    # A crash between the relay's 250 and the mark may resend, but always the same Message-ID.
    relayed = {
        email.message_from_bytes(m.raw, policy=default)["Message-ID"] for m in relay.messages
    }
    assert len(relayed) == MAILS
    assert {m.rcpt_tos[0] for m in relay.messages} == {
        f"residente{i}@correo.example" for i in range(MAILS)
    }
    flags = imap_user.server.flags(imap_user.username)
    assert len(flags) == MAILS and all(b"\\Seen" not in f for f in flags.values())
