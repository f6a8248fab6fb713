"""deploy/postfix/: a real Postfix hands mail to maildesk by LMTP and by pipe, once each.

The example's main.cf lines, master.cf service and transport map are loaded, with their
paths and port replaced, into a Postfix of the test's own (tests/deploy/postfix.py); a
mail sent to it by SMTP must become exactly one ticket and leave Postfix's queue empty.
The pipe runs `maildesk ingest` as an unprivileged user, as the example says: here
`nobody`, through a venv of the system Python that reads this checkout's packages (the
test's own interpreter lives under /root, which `nobody` cannot enter).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tomli_w
from sqlalchemy import create_engine, select

from maildesk.models import Inbound, Ticket
from tests.deploy.postfix import Postfix, PostfixUnavailable
from tests.servers import free_port, require_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "postfix"
ADDRESS = "soporte@example.org"
SUBJECT = "Fuga de agua en el baño — Torre Ñandú, depto 402"
MAIL = (
    "From: Ana Pérez <ana@vecinos.example>\r\n"
    f"To: {ADDRESS}\r\n"
    "Subject: =?utf-8?q?Fuga_de_agua_en_el_ba=C3=B1o_=E2=80=94_Torre_=C3=91and=C3=BA=2C_depto_402?=\r\n"
    "Message-ID: <postfix-{n}@vecinos.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Sale agua bajo el lavamanos desde anoche.\r\n"
).encode()


@pytest.fixture
def postfix() -> Iterator[Postfix]:
    """A Postfix of this test's own, with deploy/postfix/main.cf's lines in its main.cf."""
    try:
        server = Postfix()
    except PostfixUnavailable as exc:
        require_server("Postfix", str(exc))
    try:
        lines = (EXAMPLE / "main.cf").read_text(encoding="utf-8")
        assert "hash:/etc/postfix/transport" in lines
        server.add(
            "main.cf", lines.replace("/etc/postfix/transport", str(server.root / "transport"))
        )
        yield server
    finally:
        server.stop()


def start(server: Postfix, transport: str, **places: str) -> None:
    """Load the example transport map and master.cf service (their paths moved) and start."""
    master = (EXAMPLE / "master.cf").read_text(encoding="utf-8")
    table = (EXAMPLE / transport).read_text(encoding="utf-8")
    for example, here in places.items():
        assert example in master + table, f"the example no longer has {example}"
        master, table = master.replace(example, here), table.replace(example, here)
    server.add("master.cf", master)
    (server.root / "transport").write_text(table)
    server.postmap("transport")
    try:
        server.start()
    except PostfixUnavailable as exc:
        require_server("Postfix", str(exc))


def desk_config(folder: Path, **sections: object) -> Path:
    config = folder / "maildesk.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "desk": {
                    "address": ADDRESS,
                    "base_url": "https://soporte.example.org",
                    "database": f"sqlite:///{folder / 'maildesk.db'}",
                    "data_dir": str(folder / "data"),
                    "secret_key": "postfix-test-secret-0123456789-abcdefghijklmn",
                },
                **sections,
            }
        ),
        encoding="utf-8",
    )
    return config


def tickets(folder: Path) -> list[tuple[str, str, str]]:
    """(subject, requester, inbound source) of every ticket of the desk in `folder`."""
    if not (folder / "maildesk.db").exists():
        return []
    engine = create_engine(f"sqlite:///{folder / 'maildesk.db'}")
    try:
        with engine.connect() as conn:
            return [
                (row.subject, row.requester_email, row.source)
                for row in conn.execute(
                    select(Ticket.subject, Ticket.requester_email, Inbound.source).join(
                        Inbound, Inbound.ticket_id == Ticket.id
                    )
                )
            ]
    except Exception:  # noqa: BLE001 - not created yet
        return []
    finally:
        engine.dispose()


def delivered(server: Postfix, folder: Path, relay: str, check: Callable[[], str]) -> None:
    """Wait until Postfix logged the delivery through `relay`, its queue is empty and the
    desk holds the ticket; `check` describes the desk's side for a failure message."""
    deadline = time.monotonic() + 60
    while True:
        sent = re.search(rf"to=<{re.escape(ADDRESS)}>, relay={relay}.*status=sent", server.log())
        if sent and not server.queued() and tickets(folder):
            return
        assert time.monotonic() < deadline, f"{server.log_tail()}\n{check()}"
        time.sleep(0.3)


def test_postfix_delivers_to_the_listener_by_lmtp(postfix: Postfix, tmp_path: Path) -> None:
    """Mail sent while the LMTP listener is down waits in Postfix's queue; once
    `maildesk run --only listener` answers, it is delivered and becomes one ticket."""
    port = free_port()
    config = desk_config(tmp_path, listener={"listen": f"127.0.0.1:{port}", "protocol": "lmtp"})
    start(postfix, "transport.lmtp", **{"127.0.0.1:2525": f"127.0.0.1:{port}"})
    postfix.send("ana@vecinos.example", [ADDRESS], MAIL.replace(b"{n}", b"1"))
    deadline = time.monotonic() + 30
    while "status=deferred" not in postfix.log():
        assert time.monotonic() < deadline, postfix.log_tail()
        time.sleep(0.2)
    assert postfix.queued()

    log = tmp_path / "listener.log"
    with log.open("wb") as sink:
        listener = subprocess.Popen(
            [str(Path(sys.executable).with_name("maildesk")), "--config", str(config)]
            + ["run", "--only", "listener"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        delivered(postfix, tmp_path, rf"127\.0\.0\.1\[127\.0\.0\.1\]:{port}", log.read_text)
        time.sleep(1)  # a second delivery, if any, would have come by now
        assert tickets(tmp_path) == [(SUBJECT, "ana@vecinos.example", "listener")]
    finally:
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(30) == 0, log.read_text()


@pytest.fixture
def unprivileged() -> Iterator[tuple[str, Path, Path]]:
    """A user other than root, a `maildesk` program it can run, and a folder it owns."""
    if os.geteuid() != 0:
        require_server("root", "the Postfix master and the pipe's `user=` need it")
    user = pwd.getpwnam("nobody")
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        require_server("a system Python", "the pipe's user runs maildesk with it")
    base = Path(tempfile.mkdtemp(prefix="maildesk-pipe-"))
    base.chmod(0o755)
    try:
        venv = base / "venv"
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
        [site] = list((venv / "lib").glob("python3*/site-packages"))
        ours = sysconfig.get_paths()["purelib"]
        (site / "maildesk-checkout.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
        program = venv / "bin" / "maildesk"
        program.write_text(
            f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom maildesk.cli import main\n"
            "sys.exit(main())\n"
        )
        program.chmod(0o755)
        probe = subprocess.run(
            ["runuser", "-u", user.pw_name, "--", str(program), "--version"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            require_server("maildesk runnable by nobody", probe.stderr[-500:])
        desk = base / "desk"
        desk.mkdir()
        shutil.chown(desk, user.pw_uid, user.pw_gid)
        yield user.pw_name, program, desk
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_postfix_delivers_to_maildesk_ingest_by_pipe(
    postfix: Postfix, unprivileged: tuple[str, Path, Path]
) -> None:
    """The master.cf service pipes the mail to `maildesk ingest` as its unprivileged user,
    with the envelope. Before the database is created ingest answers 75, and Postfix keeps
    the mail and retries; after `maildesk db upgrade` it becomes one ticket and leaves the queue."""
    user, program, desk = unprivileged
    config = desk_config(desk)
    start(
        postfix,
        "transport.pipe",
        **{
            "user=maildesk": f"user={user}",
            "/opt/maildesk/.venv/bin/maildesk": str(program),
            "/etc/maildesk/maildesk.toml": str(config),
        },
    )
    postfix.send("ana@vecinos.example", [ADDRESS], MAIL.replace(b"{n}", b"2"))
    deadline = time.monotonic() + 30
    while not re.search(r"relay=maildesk.*status=deferred", postfix.log()):
        assert time.monotonic() < deadline, postfix.log_tail()
        time.sleep(0.2)
    assert postfix.queued() and not tickets(desk)
    upgrade = subprocess.run(
        ["runuser", "-u", user, "--", str(program), "--config", str(config), "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=desk,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    delivered(postfix, desk, "maildesk", lambda: "")
    time.sleep(1)
    assert tickets(desk) == [(SUBJECT, "ana@vecinos.example", "pipe")]
