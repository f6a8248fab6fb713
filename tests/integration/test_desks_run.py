"""Two buildings in one `maildesk run`, against a real Dovecot, relay, listener and web
server: each mailbox feeds its own desk, numbering is per desk, each building's staff
hear of their own requests only, and a status link answers only on its own host."""

from __future__ import annotations

import email
import signal
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from maildesk.models import Desk as DeskRow
from maildesk.models import Ticket
from tests.conftest import SECRET
from tests.desks import ANA, BETO, NORTE, SUR, install_toml
from tests.mails import make_mail
from tests.servers import Dovecot, Relay, free_port

pytestmark = pytest.mark.integration

RESIDENT = "vecina@correo.example"


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def tickets(database_url: str) -> dict[str, list[tuple[int, str]]]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(DeskRow.slug, Ticket.number, Ticket.subject)
                .join(Ticket, Ticket.desk_id == DeskRow.id)
                .order_by(DeskRow.slug, Ticket.number)
            ).all()
    finally:
        engine.dispose()
    found: dict[str, list[tuple[int, str]]] = {}
    for slug, number, subject in rows:
        found.setdefault(slug, []).append((number, subject))
    return found


def status(port: int, path: str, host: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_two_desks_in_one_run(
    tmp_path: Path, database_url: str, dovecot: Dovecot, relay: Relay
) -> None:
    if not dovecot.running:
        dovecot.start()
    users = {}
    for slug in ("norte", "sur"):
        name = f"{slug}-{time.monotonic_ns()}"
        dovecot.add_user(name, "clave-norte-sur")
        users[slug] = name
    smtp_port, web_port = free_port(), free_port()

    def mailbox(slug: str) -> dict[str, object]:
        imap = {"host": dovecot.host, "port": dovecot.imap_port, "security": "none"}
        return {"imap": {**imap, "username": users[slug], "password": "clave-norte-sur"}}

    config = install_toml(
        tmp_path,
        database_url,
        SECRET,
        top={
            "smtp": {"host": relay.host, "port": relay.port, "security": "none"},
            "listener": {"listen": f"127.0.0.1:{smtp_port}"},
            "web": {"listen": f"127.0.0.1:{web_port}"},
        },
        norte=mailbox("norte"),
        sur=mailbox("sur"),
    )
    log = tmp_path / "run.log"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "maildesk", "--config", str(config), "run"],
        cwd=tmp_path,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while "maildesk is running" not in log.read_text() and time.monotonic() < deadline:
            assert daemon.poll() is None, log.read_text()
            time.sleep(0.1)
        assert "desks: norte <soporte@norte.example>, sur <soporte@sur.example>" in log.read_text()
        dovecot.append(users["norte"], make_mail(to=NORTE, subject="Fuga de agua en la norte"))
        dovecot.append(users["sur"], make_mail(to=SUR, subject="Fuga de agua en la sur"))
        with smtplib.SMTP("127.0.0.1", smtp_port) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail(RESIDENT, ["otro@oeste.example"], b"Subject: x\r\n\r\nx")
            client.sendmail(
                RESIDENT, [NORTE], make_mail(to=NORTE, subject="Fuga en el ascensor norte")
            )
        # Three confirmations to the resident and three notices to staff.
        mails = [(m.rcpt_tos[0], parse(m.raw)) for m in relay.wait_for(6, timeout=60)]
        found = tickets(database_url)  # the mailbox and the listener race for Norte's #1
        assert [n for n, _s in found["norte"]] == [1, 2]
        assert {s for _n, s in found["norte"]} == {
            "Fuga de agua en la norte",
            "Fuga en el ascensor norte",
        }
        assert found["sur"] == [(1, "Fuga de agua en la sur")]
        port = web_port
        with create_engine(database_url).connect() as conn:
            token = conn.execute(
                select(Ticket.status_token)
                .join(DeskRow, Ticket.desk_id == DeskRow.id)
                .where(DeskRow.slug == "sur")
            ).scalar_one()
        assert status(port, f"/t/{token}", "sur.example") == 200
        assert status(port, f"/t/{token}", "norte.example") == 404
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, log.read_text()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    to_staff = sorted(
        (rcpt, str(m["From"]), str(m["Subject"])) for rcpt, m in mails if rcpt in (ANA, BETO)
    )
    assert [(r, NORTE in f or SUR in f) for r, f, _s in to_staff] == [
        (ANA, True),
        (ANA, True),
        (BETO, True),
    ]
    assert all(NORTE in f for r, f, _s in to_staff if r == ANA)
    assert all(SUR in f for r, f, _s in to_staff if r == BETO)
    assert sorted(s.split("]")[0] for r, _f, s in to_staff if r == ANA) == ["[#1", "[#2"]
    confirmations = sorted(str(m["From"]) for r, m in mails if r == RESIDENT)
    assert len(confirmations) == 3 and sum(SUR in c for c in confirmations) == 1
