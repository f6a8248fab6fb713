"""The operator's first mail: the README's recipe, as printed, makes a ticket and a confirmation.

The recipe sends a message with no `From:` header; the envelope sender (SMTP `MAIL FROM`,
`ingest --sender`, `Return-Path`) is then the requester. A staff address whose mail
cannot be proven never becomes a resident requester: it is told why instead.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import time
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.models import Inbound, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.daemons import embedded_daemon
from tests.mails import make_mail
from tests.outmail import queued_rows

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
RECIPE = re.compile(r"^\s*(python3 -c \"import smtplib;.*\")\s*$", re.M)


def readme_recipe() -> str:
    found = RECIPE.findall(README.read_text(encoding="utf-8"))
    assert len(found) == 1, "the README shows exactly one first-mail recipe"
    return str(found[0])


def test_readme_recipe_as_printed_makes_a_ticket_and_a_confirmation(tmp_path: Path) -> None:
    """`make run`'s banner prints the README's recipe; run as printed, it yields a ticket with a requester and a confirmation .eml."""
    with embedded_daemon(tmp_path) as daemon:
        deadline = time.monotonic() + 30
        log = daemon.wait_for("send a first mail", deadline)
        printed = RECIPE.search(log.replace("send a first mail: ", "\n"))
        assert printed is not None, log
        # The banner is the README's recipe, on the port this test gave the listener.
        assert printed.group(1) == readme_recipe().replace("2525", str(daemon.smtp_port))
        python = str(Path(sys.executable).parent)
        subprocess.run(
            ["bash", "-c", printed.group(1)],
            check=True,
            timeout=30,
            env={**daemon.env, "PATH": f"{python}:{daemon.env['PATH']}"},
        )
        outbox = tmp_path / "data" / "outbox"
        while not list(outbox.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        [eml] = outbox.glob("*.eml")
        env = daemon.env
    confirmation = email.message_from_bytes(eml.read_bytes(), policy=default)
    assert confirmation["To"] == "vecina@example.org"
    assert confirmation["Subject"] == "[#1] Fuga de agua"
    shown = subprocess.run(
        [sys.executable, "-m", "maildesk", "ticket", "show", "1", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert '"requester": "vecina@example.org"' in shown.stdout, shown.stderr


def test_ingest_sender_is_the_requester_of_a_mail_without_from(desk: Desk) -> None:
    """A piped mail with no From: belongs to the envelope sender (Postfix's ${sender})."""
    raw = b"Subject: Sin luz en la escalera\r\nTo: soporte@alameda.example\r\n\r\nNo hay luz.\r\n"
    accepted = accept(desk, raw, source="pipe", envelope_from="Vecina@Correo.example")
    assert accepted.status == "processed"
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.requester_email == "vecina@correo.example"
        kinds = session.execute(select(Outbox.kind, Outbox.recipient)).all()
    assert ("confirmation", "vecina@correo.example") in [tuple(k) for k in kinds]


def test_return_path_names_the_requester_when_from_is_unusable(desk: Desk) -> None:
    """From: that is no address at all: the Return-Path answers for it."""
    raw = (
        b"Return-Path: <vecino@correo.example>\r\nFrom: undisclosed\r\n"
        b"Subject: Ruido\r\nTo: soporte@alameda.example\r\n\r\nMucho ruido.\r\n"
    )
    accept(desk, raw, source="pipe")
    with desk.db.read_only() as session:
        assert session.scalars(select(Ticket.requester_email)).one() == "vecino@correo.example"


LUIS = "luis@alameda.example"


def test_unproven_staff_abrir_opens_nothing_and_is_told_why(make_desk: DeskFactory) -> None:
    """#abrir from a staff address without proof: no ticket for anyone, the mail set aside with its reason, and one mail back to Luis."""
    desk = make_desk(
        staff=[{"email": LUIS, "name": "Luis Ñúñez", "role": "agent", "teams": ["recepción"]}]
    )
    mail = make_mail(
        sender=LUIS, subject="Llave", body="#abrir vecino@correo.example\nPerdió la llave."
    )
    assert accept(desk, mail, source="pipe").status == "ignored"
    with desk.db.read_only() as session:
        assert session.scalars(select(Ticket)).first() is None
        row = session.scalars(select(Inbound)).one()
        assert "not proven" in row.reason
    [(told, raw)] = queued_rows(desk)
    assert (told.kind, told.recipient) == ("staff_unproven", LUIS)
    body = email.message_from_bytes(raw, policy=default).get_body(("plain",))
    assert body is not None and "/staff/" in str(body.get_content())
