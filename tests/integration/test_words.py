"""Every word a person reads follows the desk's language: mails, the status page and the CLI."""

from __future__ import annotations

import email
import json
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import update

from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.models import Outbox, Ticket
from tests.conftest import DeskFactory
from tests.integration.test_cli import maildesk
from tests.mails import make_mail
from tests.outmail import queued_mail
from tests.web.conftest import client_for, open_ticket

pytestmark = pytest.mark.integration

SOFIA = "sofia@alameda.example"
STAFF = [{"email": SOFIA, "name": "Sofía Rojas", "role": "admin", "teams": ["administración"]}]
# Category administración, priority alta, team administración, unit "torre B, unidad 402".
BILLING = {
    "subject": "Urgente: cobro de gastos comunes",
    "body": "Me llegó un cobro doble en la unidad 402 de la torre B.",
}


def staff_notice(desk: Desk) -> str:
    """The plain text of the one staff notice in the outbox."""
    [raw] = queued_mail(desk, Outbox.kind == "staff_notice")
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_staff_notice_of_an_english_desk_is_all_english(make_desk: DeskFactory) -> None:
    """An English desk's staff notice names unit, category, priority, state and team in English."""
    desk = make_desk(desk={"language": "en"}, staff=STAFF)
    accept(desk, make_mail(**BILLING), source="pipe")
    text = staff_notice(desk).split("Me llegó")[0]  # the resident's own words stay theirs
    assert "Unit: tower B, unit 402" in text
    assert "Category: administration · Priority: high · State: received" in text
    assert "Team: administration" in text
    for spanish in ("administración", "alta", "unidad", "torre", "Recibida"):
        assert spanish not in text, spanish


def test_staff_notice_of_a_spanish_desk_uses_the_staff_words(make_desk: DeskFactory) -> None:
    """A Spanish desk's staff notice shows the state as staff name it, accents kept."""
    desk = make_desk(staff=STAFF)
    accept(desk, make_mail(**BILLING), source="pipe")
    text = staff_notice(desk)
    assert "Unidad: torre B, unidad 402" in text
    assert "Categoría: administración · Prioridad: alta · Estado: recibido" in text
    assert "Equipo: administración" in text


def test_status_page_of_an_english_desk_is_all_english(make_desk: DeskFactory) -> None:
    """An English desk's status page shows category, priority and handling team in English."""
    desk = make_desk(desk={"language": "en"}, staff=STAFF)
    opened = open_ticket(desk, **BILLING)
    html = client_for(desk).get(f"/t/{opened.token}").get_data(as_text=True)
    assert "<dd>Administration</dd>" in html and "<dd>High</dd>" in html
    assert "Received" in html
    assert "dministración" not in html


def _two_tickets(desk: Desk) -> None:
    """Ticket 1 recibido, ticket 2 en_progreso."""
    accept(desk, make_mail(subject="Fuga en el depto 402"), source="pipe")
    accept(desk, make_mail(subject="Ruido en el depto 301"), source="pipe")
    with desk.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.number == 2).values(state="en_progreso"))


@pytest.mark.parametrize("word", ["en progreso", "En progreso", "EN_PROGRESO", "in progress"])
def test_ticket_list_takes_the_words_people_read(
    make_desk: DeskFactory, tmp_path: Path, word: str
) -> None:
    """`ticket list --state` takes the state's words in either language, any case or spelling."""
    _two_tickets(make_desk())
    config = str(tmp_path / "maildesk.toml")
    done = maildesk(
        "--config", config, "ticket", "list", "--state", word, "--format", "json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert [t["number"] for t in json.loads(done.stdout)] == [2]


def test_ticket_list_refuses_unknown_states_and_dates(
    make_desk: DeskFactory, tmp_path: Path
) -> None:
    """A state or date that means nothing is refused in one line that says what is valid."""
    _two_tickets(make_desk())
    config = str(tmp_path / "maildesk.toml")
    done = maildesk("--config", config, "ticket", "list", "--state", "bogus", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "'bogus'" in done.stderr and "en progreso" in done.stderr and "validación" in done.stderr
    for option in ("--since", "--until"):
        done = maildesk("--config", config, "ticket", "list", option, "notadate", cwd=tmp_path)
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1
        assert option in done.stderr and "YYYY-MM-DD" in done.stderr
    done = maildesk(
        "--config",
        config,
        "ticket",
        "list",
        "--since",
        "2026-11-23",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 2, done.stderr


def test_ticket_table_shows_the_desk_words(make_desk: DeskFactory, tmp_path: Path) -> None:
    """`ticket list` and `ticket show` name states and priorities in the desk's language."""
    _two_tickets(make_desk(desk={"language": "en"}))
    config = str(tmp_path / "maildesk.toml")
    table = maildesk("--config", config, "ticket", "list", cwd=tmp_path).stdout
    assert "in progress" in table and "received" in table and "medium" in table
    assert "en_progreso" not in table and "recibido" not in table
    shown = maildesk("--config", config, "ticket", "show", "2", cwd=tmp_path).stdout
    assert "state in progress · priority medium" in shown
    listed = json.loads(
        maildesk("--config", config, "ticket", "list", "--format", "json", cwd=tmp_path).stdout
    )
    assert [t["state"] for t in listed] == ["en_progreso", "recibido"]
