"""A zero-downtime upgrade: workers keep taking mail while two `maildesk db upgrade` race from
the previous release's schema (0015) to this one's; the migration runs once.

The worker that keeps running is this release's listener on the older schema. It cannot
store a mail there (the mail's bytes go to 0019's table): it answers 451 and the sender
keeps the mail and sends it again, as an MTA does, until the upgrade is done. (The other
way round, the previous release's workers on this schema store and read mail in the
`inbound` row, which stays: `test_inbound_raw.py`.) The workers are then restarted, as
the README's "Production" section says, and the scheduler's retry of stored mail works
what was kept: nothing is lost.
"""

from __future__ import annotations

import dataclasses
import os
import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import tomli_w
from alembic import command
from sqlalchemy import create_engine, func, inspect, select, text

from maildesk.context import Desk, ensure_desk_row
from maildesk.db import Database, _alembic_config, foreign_keys_deferred
from maildesk.migrations import HEAD
from maildesk.models import Desk as DeskRow
from maildesk.models import Inbound, Ticket
from tests.conftest import PG_ADMIN_URL, SECRET, DeskFactory
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
    desk = make_desk(escalation={"check_seconds": 1})
    config = tmp_path / "maildesk.toml"
    port = free_port()
    worker = start_worker(config, "listener", "listener", port=port)
    try:
        wait_running([worker])
        downgrade(desk, PREVIOUS)  # the previous release's schema, its worker running
        assert desk.db.revision() == PREVIOUS and not has_lease_table(desk)

        sent: list[int] = []
        tries: list[int] = []
        done = threading.Event()

        def keep_sending() -> None:
            while not done.is_set():
                n = len(sent)
                tries.append(n)
                try:
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
                except smtplib.SMTPDataError as exc:
                    if exc.smtp_code != 451:
                        raise
                else:
                    sent.append(n)
                time.sleep(0.1)

        sender = threading.Thread(target=keep_sending)
        sender.start()
        try:
            while len(tries) < 3:
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
        migrated = [o for o in outputs if f"upgraded from revision {PREVIOUS} to {HEAD}" in o]
        waited = [o for o in outputs if f"database schema up to date (revision {HEAD})" in o]
        assert (len(migrated), len(waited)) == (1, 1), outputs
        assert desk.db.revision() == HEAD and has_lease_table(desk)
        assert worker.stop() == 0
        worker = start_worker(config, "listener,scheduler", "restarted", port=port)
        wait_running([worker])

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


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_upgrade_chosen_as_a_deadlocks_victim_runs_again(
    desk_at_previous: Desk, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's transaction has read `inbound`; the upgrade, which has altered `outbox`
    in an earlier migration, waits to alter `inbound`; the worker then reads `outbox`.
    PostgreSQL rolls back the side whose deadlock check comes first, here the upgrade's
    (3 s against the worker's 20 s), and the upgrade runs again."""
    desk = desk_at_previous
    monkeypatch.setenv("PGOPTIONS", "-c deadlock_timeout=3s")  # the upgrade's connections
    migrating = Database(desk.db.url)
    result: list[str] = []
    with desk.db.engine.connect() as worker:
        worker.execute(text("SET deadlock_timeout = '20s'"))
        worker.execute(text("SELECT count(*) FROM inbound")).scalar()
        upgrade = threading.Thread(target=lambda: result.append(migrating.upgrade()))
        upgrade.start()
        deadline = time.monotonic() + 30
        while not waits_to_alter_inbound(desk) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waits_to_alter_inbound(desk)
        worker.execute(text("SELECT count(*) FROM outbox")).scalar()
        worker.commit()
        upgrade.join(60)
    migrating.dispose()
    assert result == [f"database schema upgraded from revision {PREVIOUS} to {HEAD}"]
    assert "deadlock" in caplog.text
    assert desk.db.revision() == HEAD


def waits_to_alter_inbound(desk: Desk) -> bool:
    """Some session waits for the lock that altering `inbound` takes."""
    with desk.db.engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND mode = 'AccessExclusiveLock' AND relation = 'inbound'::regclass"
                )
            ).scalar()
        )


@pytest.fixture
def desk_at_previous(make_desk: DeskFactory) -> Desk:
    desk = make_desk()
    downgrade(desk, PREVIOUS)
    desk.db.dispose()
    return desk


def test_workers_started_together_on_a_new_database_all_start(tmp_path: Path) -> None:
    """Three upgrades at once on an empty PostgreSQL database: one creates the schema and
    the desk's row, the others wait or find them; all exit 0 and there is one desk."""
    name = f"maildesk_fresh_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    config = tmp_path / "maildesk.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "desk": {
                    "address": "soporte@alameda.example",
                    "database": url,
                    "data_dir": str(tmp_path / "data"),
                    "secret_key": SECRET,
                }
            }
        ),
        encoding="utf-8",
    )
    try:
        upgrades = [
            subprocess.Popen(
                [sys.executable, "-m", "maildesk", "--config", str(config), "db", "upgrade"],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=120)[0].decode() for p in upgrades]
        assert [p.returncode for p in upgrades] == [0, 0, 0], outputs
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(DeskRow)) == 1
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_new_desk_row_is_created_once_by_workers_starting_together(
    make_desk: DeskFactory,
) -> None:
    """Four workers (threads, each with its own engine) open a new building at one instant:
    one creates its row, the others find it; none fails."""
    desk = make_desk()
    config = dataclasses.replace(
        desk.config,
        desk=dataclasses.replace(desk.config.desk, address="torre-b@alameda.example", slug="b"),
    )
    start = threading.Barrier(4)
    found: list[int] = []
    failed: list[BaseException] = []

    def open_it() -> None:
        db = Database(desk.db.url)
        try:
            start.wait()
            found.append(ensure_desk_row(db, config, desk.clock))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failed.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failed, failed
    assert len(found) == 4 and len(set(found)) == 1
