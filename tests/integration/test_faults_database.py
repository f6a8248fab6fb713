"""The database gone for a while, under a running daemon: the listener answers 4xx, nothing
crashes, and once the database is back every mail is one ticket with one confirmation.

PostgreSQL is a server of the test's own (stopped and started on its port); SQLite is
locked by another process holding an exclusive transaction.
"""

from __future__ import annotations

import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.context import Desk
from maildesk.models import Inbound, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.integration.test_crash_restart import wait_until
from tests.mails import DESK, make_mail
from tests.servers import Postgres, Relay, free_port

pytestmark = pytest.mark.integration


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "maildesk", "--config", str(config), "run"]
        + ["--only", "listener,outbox"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=config.parent,
    )


def send(port: int, raw: bytes) -> int:
    """The listener's answer to DATA (250, or the 4xx/5xx it refused with)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        try:
            client.sendmail("vecina@correo.example", [DESK], raw)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code
    return 250


def totals(desk: Desk) -> tuple[int, int, int]:
    """(tickets, stored mails, confirmations sent)."""
    with desk.db.read_only() as session:
        return (
            session.scalar(select(func.count(Ticket.id))) or 0,
            session.scalar(select(func.count(Inbound.id))) or 0,
            session.scalar(select(func.count(Outbox.id)).where(Outbox.status == "sent")) or 0,
        )


def mail(i: int) -> bytes:
    return make_mail(
        sender=f"vecina{i}@correo.example",
        subject=f"Ascensor detenido {i}",
        message_id=f"<db{i}@correo.example>",
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the test's own server
def test_postgresql_stopped_and_started_under_a_running_daemon(
    make_desk: DeskFactory, own_postgres: Postgres, relay: Relay, tmp_path: Path
) -> None:
    """PostgreSQL down: the listener answers 451 and the daemon lives; back up: the retried
    mail and the next one are each one ticket, and each confirmation reaches the relay once."""
    port = free_port()
    desk = make_desk(
        desk={"database": own_postgres.url},
        listener={"listen": f"127.0.0.1:{port}"},
        smtp={"host": relay.host, "port": relay.port, "security": "none"},
    )
    config, log = tmp_path / "maildesk.toml", tmp_path / "daemon.log"
    daemon = start_daemon(config, log)
    try:
        wait_until(lambda: "listening for mail" in log.read_text(), 30, "start-up", log)
        assert send(port, mail(1)) == 250
        relay.wait_for(1)
        own_postgres.stop()
        assert send(port, mail(2)) == 451
        assert send(port, mail(2)) == 451
        time.sleep(2.5)  # the outbox loop meets the missing database too, and carries on
        assert daemon.poll() is None, log.read_text()[-3000:]
        own_postgres.start()
        assert send(port, mail(2)) == 250
        assert send(port, mail(3)) == 250
        wait_until(lambda: totals(desk) == (3, 3, 3), 30, f"3 confirmed, {totals(desk)}", log)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert sorted(m.rcpt_tos[0] for m in relay.messages) == [
        f"vecina{i}@correo.example" for i in (1, 2, 3)
    ]


HOLD_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_locked_by_another_process_makes_the_listener_wait_then_store(
    make_desk: DeskFactory, relay: Relay, tmp_path: Path
) -> None:
    """Another process holds SQLite's exclusive lock for 3 s: the listener waits, stores the
    mail once the lock goes, and the confirmation is sent once."""
    port = free_port()
    desk = make_desk(
        listener={"listen": f"127.0.0.1:{port}"},
        smtp={"host": relay.host, "port": relay.port, "security": "none"},
    )
    config, log = tmp_path / "maildesk.toml", tmp_path / "daemon.log"
    daemon = start_daemon(config, log)
    try:
        wait_until(lambda: "listening for mail" in log.read_text(), 30, "start-up", log)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(tmp_path / "maildesk.db"), "3"],
            stdout=subprocess.PIPE,
        )
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        began = time.monotonic()
        assert send(port, mail(1)) == 250
        assert time.monotonic() - began > 1.5  # it waited for the lock
        assert holder.wait(10) == 0
        wait_until(lambda: totals(desk) == (1, 1, 1), 30, f"confirmed, {totals(desk)}", log)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert [m.rcpt_tos[0] for m in relay.messages] == ["vecina1@correo.example"]
