"""One ticket in the console: every message and event, and a form per staff action that
calls the same ticket action as the mail command, with the same rights."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.domain import Via
from maildesk.models import Event, Outbox, Ticket
from maildesk.tickets import staff
from maildesk.tickets.actor import Actor
from tests.conftest import DeskFactory
from tests.web.conftest import PHOTO, client_for, open_ticket
from tests.web.consolekit import (
    ANA,
    LUIS,
    RESIDENT,
    SOFIA,
    STAFF,
    csrf,
    last_mail_to,
    sign_in,
    text_of,
)

Update = Callable[[staff.StaffUpdate], None]


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF)


def console(desk: Desk, who: str) -> FlaskClient:
    client = client_for(desk)
    sign_in(client, desk, who)
    return client


def post(client: FlaskClient, number: int, action: str, **fields: object) -> tuple[int, str]:
    token = csrf(client, f"/staff/t/{number}")
    response = client.post(f"/staff/t/{number}/{action}", data={"csrf_token": token, **fields})
    return response.status_code, response.get_data(as_text=True)


def outcome(desk: Desk, number: int) -> tuple[tuple[object, ...], list[str], list[tuple[str, str]]]:
    """The ticket's fields, its event kinds and the mails queued about it."""
    with desk.db.read_only() as session:
        t = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        fields = (t.state, t.assignee, t.team, t.priority, t.category, t.outcome, t.due_at is None)
        kinds = list(
            session.scalars(select(Event.kind).where(Event.ticket_id == t.id).order_by(Event.id))
        )
        mails = session.execute(
            select(Outbox.kind, Outbox.recipient)
            .where(Outbox.ticket_id == t.id)
            .order_by(Outbox.id)
        )
        return fields, kinds, [(k, r) for k, r in mails]


def direct(desk: Desk, number: int, who: str, do: Update) -> None:
    member = desk.config.staff_member(who)
    assert member is not None
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        with staff.update(
            session, desk, ticket, Actor.staff(member, Via.CONSOLE), desk.clock.now()
        ) as u:
            do(u)


CASES: list[tuple[str, dict[str, str], Update]] = [
    ("answer", {"text": "Vamos mañana a las 10."}, lambda u: u.answer("Vamos mañana a las 10.")),
    ("note", {"text": "Llamar al conserje."}, lambda u: u.note("Llamar al conserje.")),
    ("take", {}, lambda u: u.take()),
    ("assign", {"to": LUIS}, lambda u: u.assign(LUIS)),
    ("assign", {"to": "recepción"}, lambda u: u.assign("recepción")),
    ("priority", {"value": "alta"}, lambda u: u.set_priority("alta")),
    ("category", {"value": "convivencia"}, lambda u: u.set_category("convivencia")),
    ("wait", {"note": "Esperando el repuesto."}, lambda u: u.wait("Esperando el repuesto.")),
    ("resolve", {"note": "Cambiamos el flexible."}, lambda u: u.resolve("Cambiamos el flexible.")),
    ("close", {"note": "Cambiamos el flexible."}, lambda u: u.close("Cambiamos el flexible.")),
    (
        "close",
        {"note": "No hay repuesto.", "outcome": "failure"},
        lambda u: u.close("No hay repuesto.", success=False),
    ),
    (
        "vendor",
        {"address": "gasfiter@proveedor.example", "message": "¿Pueden ir hoy?"},
        lambda u: u.ask_vendor("gasfiter@proveedor.example", "¿Pueden ir hoy?"),
    ),
]


@pytest.mark.parametrize(
    ("action", "fields", "do"), CASES, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(CASES)]
)
def test_each_console_form_has_the_effect_of_the_staff_action(
    desk: Desk, action: str, fields: dict[str, str], do: Update
) -> None:
    """A console form changes the ticket, its history and its mails exactly as the same StaffUpdate call."""
    first, second = open_ticket(desk), open_ticket(desk)
    status, _ = post(console(desk, SOFIA), first.number, action, **fields)
    assert status == 303
    direct(desk, second.number, SOFIA, do)
    assert outcome(desk, first.number) == outcome(desk, second.number)


def test_reopen_from_the_console_is_the_staff_action(desk: Desk) -> None:
    """Reopening a closed ticket from the console equals the StaffUpdate reopen."""
    first, second = open_ticket(desk), open_ticket(desk)
    for number in (first.number, second.number):
        direct(desk, number, ANA, lambda u: u.close("Listo."))
    assert post(console(desk, ANA), first.number, "reopen", note="Volvió la fuga.")[0] == 303
    direct(desk, second.number, ANA, lambda u: u.reopen("Volvió la fuga."))
    assert outcome(desk, first.number) == outcome(desk, second.number)


def test_an_agent_may_only_answer_and_note_on_another_teams_ticket(desk: Desk) -> None:
    """Luis (recepción) on mantenimiento's ticket: closing is a 403 page with the reason, answering works."""
    opened = open_ticket(desk)
    client = console(desk, LUIS)
    page = client.get(f"/staff/t/{opened.number}").get_data(as_text=True)
    assert 'action="/staff/t/1/answer"' in page and 'action="/staff/t/1/close"' not in page
    before = outcome(desk, opened.number)
    status, body = post(client, opened.number, "close", note="Cerrado.")
    assert status == 403 and "Tu rol no permite hacerlo en esta solicitud" in body
    assert outcome(desk, opened.number) == before
    assert post(client, opened.number, "answer", text="Le aviso al equipo.")[0] == 303
    mail = last_mail_to(desk, RESIDENT)
    assert mail is not None and "Le aviso al equipo." in text_of(mail)


def test_a_closure_without_a_note_is_refused_with_a_clear_message(desk: Desk) -> None:
    """Closing without a note is a 400 page saying a note is required; nothing changes."""
    opened = open_ticket(desk)
    before = outcome(desk, opened.number)
    status, body = post(console(desk, ANA), opened.number, "close", note="  ")
    assert status == 400 and "Se requiere una nota" in body
    assert outcome(desk, opened.number) == before


def test_an_action_without_csrf_token_is_refused(desk: Desk) -> None:
    """A console form posted without its CSRF token is a 400 and changes nothing."""
    opened = open_ticket(desk)
    client = console(desk, ANA)
    before = outcome(desk, opened.number)
    response = client.post(f"/staff/t/{opened.number}/take", data={})
    assert response.status_code == 400
    assert outcome(desk, opened.number) == before


def test_an_unknown_ticket_or_action_is_404(desk: Desk) -> None:
    """No such ticket, or no such action: 404, never a 500."""
    opened = open_ticket(desk)
    client = console(desk, ANA)
    assert client.get("/staff/t/999").status_code == 404
    assert post(client, opened.number, "explode")[0] == 404


def test_the_answer_with_a_photo_reaches_the_resident_and_staff_download_files(desk: Desk) -> None:
    """An answer with a photo mails it to the resident; the page lists notes too and serves files to staff."""
    opened = open_ticket(desk)
    client = console(desk, ANA)
    name, kind, data = PHOTO
    token = csrf(client, f"/staff/t/{opened.number}")
    response = client.post(
        f"/staff/t/{opened.number}/answer",
        data={
            "csrf_token": token,
            "text": "Así quedó el baño.",
            "files": [(io.BytesIO(data), name, kind)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    mail = last_mail_to(desk, RESIDENT)
    assert mail is not None
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == name and attached.get_content() == data  # type: ignore[attr-defined]
    assert ANA not in mail.as_string()
    post(client, opened.number, "note", text="Nota solo para el equipo.")
    page = client.get(f"/staff/t/{opened.number}").get_data(as_text=True)
    assert "Nota solo para el equipo." in page and "Así quedó el baño." in page
    link = page.split('href="/staff/t/1/adjunto/', 1)[1].split('"', 1)[0]
    download = client.get(f"/staff/t/1/adjunto/{link}")
    assert download.status_code == 200 and download.data == data
    assert "attachment" in download.headers["Content-Disposition"]


def test_the_holder_hears_when_someone_else_acts_on_their_ticket(desk: Desk) -> None:
    """Ana holds the ticket; Sofía's answer from the console sends Ana one notice; Ana's own act does not."""
    opened = open_ticket(desk)
    direct(desk, opened.number, ANA, lambda u: u.take())
    assert post(console(desk, SOFIA), opened.number, "answer", text="Pasamos a las 10.")[0] == 303
    notice = last_mail_to(desk, ANA)
    assert notice is not None
    assert "Otra persona actuó en tu solicitud" in text_of(notice)
    assert "Pasamos a las 10." in text_of(notice)
    with desk.db.read_only() as session:
        count = len(list(session.scalars(select(Outbox.id).where(Outbox.recipient == ANA))))
    direct(desk, opened.number, ANA, lambda u: u.wait("Esperando."))
    with desk.db.read_only() as session:
        assert len(list(session.scalars(select(Outbox.id).where(Outbox.recipient == ANA)))) == count
