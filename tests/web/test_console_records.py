"""The console records a request's type, medium, dates and final cause, by the same rules as mail."""

from __future__ import annotations

import io
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.models import Ticket
from tests.conftest import DeskFactory
from tests.web.conftest import PHOTO, client_for, open_ticket
from tests.web.consolekit import ANA, LUIS, SOFIA, STAFF, csrf, last_mail_to, sign_in, text_of

TYPES = {
    "reclamo": {
        "name": "Reclamo",
        "hint": "Indica la unidad afectada y desde cuándo ocurre.",
        "category": "convivencia",
        "deadline": "4h",
    }
}


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(
        staff=STAFF,
        desk={"require_cause_on_close": True, "channels": ["phone", "walk-in", "whatsapp"]},
        types=TYPES,
        causes={"desgaste": "Desgaste normal", "mal_uso": "Mal uso"},
        categories={
            "mantenimiento": {
                "keywords": ["fuga"],
                "team": "mantenimiento",
                "require_attachment": True,
            }
        },
    )


def signed_in(desk: Desk, who: str) -> FlaskClient:
    client = client_for(desk)
    sign_in(client, desk, who)
    return client


def the_ticket(desk: Desk, number: int = 1) -> Ticket:
    with desk.db.read_only() as session:
        return session.scalars(select(Ticket).where(Ticket.number == number)).one()


def test_the_lobby_offers_types_with_hints_and_the_media(desk: Desk) -> None:
    """/staff/nuevo shows each type with its hint and the configured media; a WhatsApp reclamo is recorded with its default category."""
    client = signed_in(desk, LUIS)
    page = client.get("/staff/nuevo").get_data(as_text=True)
    assert "Indica la unidad afectada y desde cuándo ocurre." in page
    assert 'value="whatsapp"' in page and "WhatsApp" in page and 'value="reclamo"' in page
    response = client.post(
        "/staff/nuevo",
        data={
            "csrf_token": csrf(client, "/staff/nuevo"),
            "channel": "whatsapp",
            "type": "reclamo",
            "email": "vecino@correo.example",
            "subject": "Ruidos molestos de noche",
        },
    )
    assert response.status_code == 303
    ticket = the_ticket(desk)
    assert (ticket.channel, ticket.type, ticket.category) == ("whatsapp", "reclamo", "convivencia")
    notice = last_mail_to(desk, SOFIA)
    assert notice is not None
    body = text_of(notice)
    assert "Medio: WhatsApp · Tipo: Reclamo" in body and "Indica la unidad afectada" in body


def test_the_lobby_refuses_a_medium_not_in_the_list(desk: Desk) -> None:
    """A medium the desk does not record is a 400 naming the problem; nothing is opened."""
    client = signed_in(desk, LUIS)
    response = client.post(
        "/staff/nuevo",
        data={
            "csrf_token": csrf(client, "/staff/nuevo"),
            "channel": "fax",
            "email": "vecino@correo.example",
            "subject": "Consulta",
        },
    )
    assert response.status_code == 400
    assert "Medio de ingreso desconocido" in response.get_data(as_text=True)
    with desk.db.read_only() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_the_records_form_sets_type_dates_and_cause(desk: Desk) -> None:
    """One form sets the type, the start date, the deadline and the cause; the page shows them and the due date follows the deadline."""
    opened = open_ticket(desk, subject="Fuga en el baño", body="Hay una fuga.")
    client = signed_in(desk, ANA)
    response = client.post(
        f"/staff/t/{opened.number}/records",
        data={
            "csrf_token": csrf(client, f"/staff/t/{opened.number}"),
            "type": "reclamo",
            "starts_on": "2026-11-24",
            "deadline": "2026-11-27",
            "cause": "mal_uso",
        },
    )
    assert response.status_code == 303
    ticket = the_ticket(desk, opened.number)
    assert (ticket.type, ticket.starts_on, ticket.deadline, ticket.cause) == (
        "reclamo",
        date(2026, 11, 24),
        date(2026, 11, 27),
        "mal_uso",
    )
    page = client.get(f"/staff/t/{opened.number}").get_data(as_text=True)
    assert "Reclamo" in page and "2026-11-27" in page and "Mal uso" in page
    bad = client.post(
        f"/staff/t/{opened.number}/records",
        data={"csrf_token": csrf(client, f"/staff/t/{opened.number}"), "deadline": "mañana"},
    )
    assert bad.status_code == 400 and "Fecha no válida" in bad.get_data(as_text=True)
    assert the_ticket(desk, opened.number).deadline == date(2026, 11, 27)


def test_closing_in_the_console_needs_the_cause_and_the_evidence(desk: Desk) -> None:
    """Close without a cause: 400 naming it; without the photo: 400; with both: closed, the photo kept."""
    opened = open_ticket(desk, subject="Fuga en el baño", body="Hay una fuga.")
    client = signed_in(desk, ANA)
    path = f"/staff/t/{opened.number}/close"

    def close(**fields: object) -> tuple[int, str]:
        data = {"csrf_token": csrf(client, f"/staff/t/{opened.number}"), "note": "Listo", **fields}
        response = client.post(path, data=data, content_type="multipart/form-data")
        return response.status_code, response.get_data(as_text=True)

    status, body = close()
    assert status == 400 and "causa final" in body
    status, body = close(cause="desgaste")
    assert status == 400 and "adjunto" in body
    assert (the_ticket(desk, opened.number).state, the_ticket(desk, opened.number).cause) == (
        "recibido",
        None,
    )
    status, _ = close(cause="desgaste", files=[(io.BytesIO(PHOTO[2]), PHOTO[0], PHOTO[1])])
    assert status == 303
    ticket = the_ticket(desk, opened.number)
    assert (ticket.state, ticket.cause) == ("cerrado", "desgaste")
    with desk.db.read_only() as session:
        found = session.scalars(select(Ticket).where(Ticket.id == ticket.id)).one()
        assert PHOTO[0] in [a.filename for m in found.messages for a in m.attachments]
