"""An operator's first day: every documented step works, and every failure says what to do."""

from __future__ import annotations

import logging
import stat
import threading
import time
from pathlib import Path

import pytest
import tomli_w

from maildesk import __version__
from maildesk import config as config_mod
from maildesk.context import open_desk
from maildesk.daemon import Daemon
from maildesk.inbound.sources.imap import ImapWatcher, login_backoff_delay
from maildesk.inbound.store import DatabaseMailboxStore
from tests.conftest import DeskFactory
from tests.integration.test_cli import maildesk
from tests.servers import Dovecot, ImapUser, free_port
from tests.web.conftest import client_for

pytestmark = pytest.mark.integration

SCHEMA_OLDER = "the database schema is older than this maildesk: run `maildesk db upgrade`"


def write_config(path: Path, **sections: dict[str, object]) -> Path:
    config = path / "maildesk.toml"
    desk = {
        "database": f"sqlite:///{path / 'desk.db'}",
        "secret_key": "first-day-key-0123456789-abcdefghijklmn",
    }
    config.write_text(tomli_w.dumps({"desk": {**desk, **sections.pop("desk", {})}, **sections}))
    return config


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    """`maildesk --version` prints the version and exits 0, without a config or a database."""
    done = maildesk("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"maildesk {__version__}"
    assert not list(tmp_path.iterdir())


def test_only_migrating_commands_migrate_and_say_so_in_one_line(tmp_path: Path) -> None:
    """`db upgrade` says in one line that it migrated; `ticket list` neither migrates nor logs Alembic noise."""
    config = str(write_config(tmp_path))
    done = maildesk("--config", config, "db", "upgrade", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "alembic" not in (done.stdout + done.stderr).lower()
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "schema" in lines[0], lines
    done = maildesk("--config", config, "db", "upgrade", cwd=tmp_path)
    assert done.returncode == 0 and "up to date" in done.stdout + done.stderr, done.stderr
    listed = maildesk("--config", config, "ticket", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == ""


@pytest.mark.parametrize(
    ("command", "code"),
    [(["ticket", "list"], 78), (["outbox", "send", "--once"], 78), (["ingest"], 75)],
)
def test_other_commands_refuse_an_older_schema(
    tmp_path: Path, command: list[str], code: int
) -> None:
    """A command other than init/db upgrade/run on an older schema says to run `db upgrade`: exit 78, or 75 from an MTA pipe so the mail waits."""
    config = write_config(tmp_path)
    desk = open_desk(config_mod.load(config), upgrade=True)
    with desk.db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    desk.db.dispose()
    done = maildesk("--config", str(config), *command, cwd=tmp_path, stdin=b"Subject: x\r\n\r\nx")
    assert done.returncode == code, done.stderr
    assert SCHEMA_OLDER in done.stderr
    assert "Traceback" not in done.stderr


def test_other_commands_do_not_create_a_missing_database(tmp_path: Path) -> None:
    """`ticket list` where there is no database creates none and says how to create it."""
    config = write_config(tmp_path)
    done = maildesk("--config", str(config), "ticket", "list", cwd=tmp_path)
    assert done.returncode == 78, done.stderr
    assert "maildesk init" in done.stderr and "maildesk db upgrade" in done.stderr
    assert not (tmp_path / "desk.db").exists()


def test_alembic_is_imported_only_to_migrate_or_check(tmp_path: Path) -> None:
    """Loading maildesk's command, desk and daemon does not import Alembic, nor does `--version`."""
    import subprocess
    import sys

    script = (
        "import sys\nimport maildesk.cli, maildesk.context, maildesk.daemon, maildesk.db\n"
        "try:\n    maildesk.cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.stdout.splitlines()[-1] == "False", done.stdout + done.stderr


def test_database_and_data_dir_are_private(tmp_path: Path) -> None:
    """The SQLite file, its -wal/-shm and data_dir are created for their owner only (0600, 0700)."""
    config = write_config(tmp_path, desk={"data_dir": str(tmp_path / "data")})
    desk = open_desk(config_mod.load(config), upgrade=True)
    try:
        with desk.db.transaction() as session:
            session.connection().exec_driver_sql("SELECT 1")
            modes = {
                p.name: stat.S_IMODE(p.stat().st_mode)
                for p in tmp_path.iterdir()
                if p.name.startswith("desk.db") or p.name == "data"
            }
    finally:
        desk.db.dispose()
    assert modes == {
        "desk.db": 0o600,
        "desk.db-wal": 0o600,
        "desk.db-shm": 0o600,
        "data": 0o700,
    }


def test_systemd_units_keep_files_private() -> None:
    """Every systemd unit runs with UMask=0077, so whatever maildesk writes is its owner's only."""
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    units = sorted(deploy.glob("*.service"))
    assert units
    for unit in units:
        assert "\nUMask=0077\n" in unit.read_text(), unit.name


def fetch_config(tmp_path: Path, **imap: object) -> str:
    """A config for `fetch` against `imap`, its database already created."""
    # Dovecot delays refused logins (2 s, doubling per failure from one address).
    config = write_config(tmp_path, imap={"security": "none", "timeout_seconds": 30, **imap})
    open_desk(config_mod.load(config), upgrade=True).db.dispose()
    return str(config)


def test_fetch_with_a_wrong_password_says_so_in_one_line(
    tmp_path: Path, imap_user: ImapUser
) -> None:
    """A refused login is one line naming imap.password, exit 78 (EX_CONFIG)."""
    config = fetch_config(
        tmp_path,
        host=imap_user.host,
        port=imap_user.port,
        username=imap_user.username,
        password="wrong",
    )
    done = maildesk("--config", config, "fetch", "--once", cwd=tmp_path)
    assert done.returncode == 78, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert "imap.password" in line and imap_user.username in line


@pytest.mark.parametrize("missing", ["username", "password"])
def test_fetch_without_credentials_names_the_key(
    tmp_path: Path, imap_user: ImapUser, missing: str
) -> None:
    """A missing imap.username or imap.password is one line naming it, exit 78, before connecting."""
    given = {"username": imap_user.username, "password": imap_user.password}
    del given[missing]
    config = fetch_config(tmp_path, host=imap_user.host, port=imap_user.port, **given)
    done = maildesk("--config", config, "fetch", "--once", cwd=tmp_path)
    assert done.returncode == 78, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"imap.{missing}" in line and f"MAILDESK_IMAP_{missing.upper()}" in line


def test_fetch_from_a_refused_port_is_a_temporary_failure(tmp_path: Path) -> None:
    """Nothing listening on imap.port is one line naming it, exit 75 (EX_TEMPFAIL)."""
    port = free_port()
    config = fetch_config(tmp_path, host="127.0.0.1", port=port, username="u", password="p")
    done = maildesk("--config", config, "fetch", "--once", cwd=tmp_path)
    assert done.returncode == 75, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "imap.port" in line and f"127.0.0.1:{port}" in line and "refused" in line


def test_fetch_from_an_unknown_host_is_a_temporary_failure(tmp_path: Path) -> None:
    """A host name that does not resolve is one line naming imap.host, exit 75."""
    config = fetch_config(
        tmp_path, host="nonexistent.invalid", port=993, username="u", password="p"
    )
    done = maildesk("--config", config, "fetch", "--once", cwd=tmp_path)
    assert done.returncode == 75, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "imap.host" in line and "nonexistent.invalid" in line


def test_run_backs_off_a_refused_login_and_healthz_says_why(
    make_desk: DeskFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused login under `run` is retried with growing delays, one line naming imap.password each time, and /healthz answers 503 with the reason."""
    server = Dovecot()  # its own: Dovecot slows down refused logins per client address
    server.add_user("desk", "s3cret")
    desk = make_desk(
        imap={
            "host": server.host,
            "port": server.port,
            "security": "none",
            "username": "desk",
            "password": "wrong",
            "timeout_seconds": 30,
        }
    )
    assert desk.config.imap is not None
    stop = threading.Event()
    delays: list[float] = []

    def login_backoff(attempt: int) -> float:
        delays.append(login_backoff_delay(attempt))
        if len(delays) == 2:
            stop.set()
        return 0.0

    watcher = ImapWatcher(
        desk.config.imap,
        DatabaseMailboxStore(desk.db, desk.desk_id, desk.clock, desk.blobs),
        now=desk.clock.now,
        login_backoff=login_backoff,
        on_problem=lambda problem: desk.runtime.report("fetch", problem),
    )
    try:
        with caplog.at_level(logging.INFO, logger="maildesk.inbound.sources.imap"):
            watcher.run(stop, lambda _n: None)
    finally:
        server.stop()
    assert delays == [60, 120]
    refused = [r.getMessage() for r in caplog.records if "imap.password" in r.getMessage()]
    assert len(refused) == 2 and all("'desk'" in line for line in refused)
    assert "Traceback" not in caplog.text
    response = client_for(desk).get("/healthz")
    assert response.status_code == 503
    assert "imap.password" in response.get_json()["failing"]["fetch"]


def test_daemon_reports_a_refused_login_to_healthz(
    make_desk: DeskFactory, imap_user: ImapUser
) -> None:
    """`run`'s fetch part tells /healthz about a refused login at the first attempt."""
    desk = make_desk(
        imap={
            "host": imap_user.host,
            "port": imap_user.port,
            "security": "none",
            "username": imap_user.username,
            "password": "wrong",
            "timeout_seconds": 30,
        }
    )
    daemon = Daemon((desk,), ("fetch",))
    daemon.start()
    try:
        deadline = time.monotonic() + 40
        while "fetch" not in desk.runtime.current() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        daemon.shutdown()
    assert "imap.password" in desk.runtime.current()["fetch"]


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_listener_connections_are_logged_only_with_verbose(tmp_path: Path, verbose: bool) -> None:
    """aiosmtpd's per-connection INFO lines (mail.log) stay out of `run`'s log unless -v is given."""
    import signal
    import smtplib
    import subprocess
    import sys

    port = free_port()
    config = write_config(tmp_path, listener={"listen": f"127.0.0.1:{port}"})
    log = tmp_path / "run.log"
    flags = ["-v"] if verbose else []
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maildesk",
            *flags,
            "--config",
            str(config),
            "run",
            "--only",
            "listener",
        ],
        cwd=tmp_path,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while "maildesk is running" not in log.read_text() and time.monotonic() < deadline:
            assert daemon.poll() is None, log.read_text()
            time.sleep(0.1)
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.noop()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, log.read_text()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    text = log.read_text()
    assert ("mail.log" in text) is verbose, text
    assert "alembic" not in text.lower() or verbose
