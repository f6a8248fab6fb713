"""A zero-downtime upgrade: workers keep taking mail while two `maildesk db upgrade` race from
the previous release's schema (0015) to this one's; the migration runs once.

The worker that keeps running is a listener: what it writes (stored mail, tickets,
outgoing mail) lives in tables the previous release already had, so it stands for a
worker of that release. The README's "Production" section gives the order tested here.
"""

from __future__ import annotations

import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, inspect, select

from maildesk.context import Desk
from maildesk.db import _alembic_config, foreign_keys_deferred
from maildesk.models import Inbound, Ticket
from tests.conftest import DeskFactory
from tests.mails import DESK, make_mail
from tests.servers import free_port
from tests.workers import start_worker, wait_running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PREVIOUS = "0015"


def downgrade(desk: Desk, revision: str) -> None:
    cfg = _alembic_config()
    with (
        desk.db.engine.connect() as connection,
        foreign_keys_deferred(connection),
        connection.begin(),
    ):
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def has_lease_table(desk: Desk) -> bool:
    with desk.db.engine.connect() as connection:
        return inspect(connection).has_table("mailbox_lease")


def counts(desk: Desk) -> tuple[int, int]:
    with desk.db.read_only() as session:
        processed = session.scalar(
            select(func.count(Inbound.id)).where(Inbound.status == "processed")
        )
        return int(session.scalar(select(func.count(Ticket.id))) or 0), int(processed or 0)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_racing_upgrades_migrate_once_while_a_worker_keeps_taking_mail(
    make_desk: DeskFactory, tmp_path: Path
) -> None:
    """From 0015 with a listener running: two upgrades at once, one migrates, both exit 0,
    and every mail sent before, during and after becomes its ticket."""
    desk = make_desk()
    config = tmp_path / "maildesk.toml"
    port = free_port()
    worker = start_worker(config, "listener", "listener", port=port)
    try:
        wait_running([worker])
        downgrade(desk, PREVIOUS)  # the previous release's schema, its worker running
        assert desk.db.revision() == PREVIOUS and not has_lease_table(desk)

        sent: list[int] = []
        done = threading.Event()

        def keep_sending() -> None:
            while not done.is_set():
                n = len(sent)
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                    smtp.sendmail(
                        f"vecina{n}@correo.example",
                        [DESK],
                        make_mail(
                            sender=f"vecina{n}@correo.example",
                            subject=f"Solicitud {n} — ascensor de la torre Ñandú",
                            message_id=f"<upgrade{n}@correo.example>",
                        ),
                    )
                sent.append(n)
                time.sleep(0.1)

        sender = threading.Thread(target=keep_sending)
        sender.start()
        try:
            while len(sent) < 3:
                time.sleep(0.05)
            upgrades = [
                subprocess.Popen(
                    [sys.executable, "-m", "maildesk", "--config", str(config), "db", "upgrade"],
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                for _ in range(2)
            ]
            outputs = [p.communicate(timeout=120)[0].decode() for p in upgrades]
            during = len(sent)
            while len(sent) < during + 3:  # and after
                time.sleep(0.05)
        finally:
            done.set()
            sender.join(60)
        assert [p.returncode for p in upgrades] == [0, 0], outputs
        migrated = [o for o in outputs if f"upgraded from revision {PREVIOUS} to 0016" in o]
        waited = [o for o in outputs if "database schema up to date (revision 0016)" in o]
        assert (len(migrated), len(waited)) == (1, 1), outputs
        assert desk.db.revision() == "0016" and has_lease_table(desk)

        deadline = time.monotonic() + 60
        while counts(desk) != (len(sent), len(sent)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert counts(desk) == (len(sent), len(sent)), worker.log_text()[-3000:]
        assert worker.process.poll() is None
        assert worker.stop() == 0
    finally:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(10)
