"""The lobby: a ticket for a phone call or a walk-in, confirmed and announced as a mail is."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.models import Event, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.web.conftest import PHOTO, client_for
from tests.web.consolekit import ANA, LUIS, STAFF, csrf, last_mail_to, sign_in, text_of


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF)


def lobby(desk: Desk) -> FlaskClient:
    client = client_for(desk)
    sign_in(client, desk, LUIS)
    return client


def register(client: FlaskClient, **fields: object) -> tuple[int, str]:
    data = {"csrf_token": csrf(client, "/staff/nuevo"), "channel": "walk-in", **fields}
    response = client.post("/staff/nuevo", data=data, content_type="multipart/form-data")
    return response.status_code, response.headers.get("Location", response.get_data(as_text=True))


def mails(desk: Desk) -> list[tuple[str, str]]:
    with desk.db.read_only() as session:
        return [
            (k, r)
            for k, r in session.execute(select(Outbox.kind, Outbox.recipient).order_by(Outbox.id))
        ]


def test_a_walk_in_with_email_is_confirmed_and_the_team_told(desk: Desk) -> None:
    """A walk-in with an email: the ticket records the channel and the chosen fields; the resident gets the confirmation, the team the notice."""
    status, where = register(
        lobby(desk),
        email="Vecino.Ñandú@correo.example",
        name="José Ñandú",
        unit="torre B, depto 402",
        subject="Fuga en el baño",
        text="Vino a recepción: sale agua bajo el lavamanos.",
        category="mantenimiento",
        priority="alta",
        files=[(io.BytesIO(PHOTO[2]), PHOTO[0], PHOTO[1])],
    )
    assert status == 303 and where.endswith("/staff/t/1")
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.channel, ticket.category, ticket.priority, ticket.team, ticket.unit) == (
            "walk-in",
            "mantenimiento",
            "alta",
            "mantenimiento",
            "torre B, depto 402",
        )
        assert (
            ticket.requester_email == "vecino.ñandú@correo.example"
            and ticket.requester_name == "José Ñandú"
        )
        assert [a.filename for m in ticket.messages for a in m.attachments][:1] == [PHOTO[0]]
        created = session.scalars(select(Event).where(Event.kind == "created")).one()
        assert created.actor == LUIS
    sent = mails(desk)
    assert ("confirmation", "vecino.ñandú@correo.example") in sent
    assert ("staff_notice", ANA) in sent
    notice = last_mail_to(desk, ANA)
    assert notice is not None and "sale agua bajo el lavamanos" in text_of(notice)


def test_a_walk_in_without_email_is_named_and_gets_no_mail(desk: Desk) -> None:
    """No email: the ticket is opened under the name given; only the team is told."""
    status, _ = register(
        lobby(desk),
        name="Don Ramón",
        unit="casa 12",
        subject="Gotera en la cocina",
        text="Llamó por una gotera.",
        category="mantenimiento",
        channel="phone",
    )
    assert status == 303
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.requester_email, ticket.requester_name, ticket.channel) == (
            "",
            "Don Ramón",
            "phone",
        )
    assert [m for m in mails(desk) if m[0] != "staff_link"] == [("staff_notice", ANA)]


def test_the_lobby_asks_for_an_email_or_a_name_and_a_subject(desk: Desk) -> None:
    """Neither email nor name, a bad email, or no subject: the form comes back with the reason and nothing is opened."""
    client = lobby(desk)
    status, body = register(client, subject="Algo")
    assert status == 400 and "Escribe el correo del residente" in body
    status, body = register(client, email="no-es-correo", subject="Algo")
    assert status == 400 and "El correo no es válido" in body
    status, body = register(client, name="Ana", subject="")
    assert status == 400 and "Escribe el asunto" in body and 'value="Ana"' in body
    with desk.db.read_only() as session:
        assert session.scalars(select(Ticket)).first() is None


def test_a_walk_in_without_email_cannot_be_answered_by_mail(desk: Desk) -> None:
    """No email, no answer form; an answer posted anyway is refused (400) and nothing is lost silently."""
    register(lobby(desk), name="Don Ramón", subject="Gotera", category="mantenimiento")
    client = client_for(desk)
    sign_in(client, desk, ANA)
    page = client.get("/staff/t/1").get_data(as_text=True)
    assert 'action="/staff/t/1/answer"' not in page and 'action="/staff/t/1/note"' in page
    response = client.post(
        "/staff/t/1/answer", data={"csrf_token": csrf(client, "/staff/t/1"), "text": "Hola"}
    )
    assert response.status_code == 400
    with desk.db.read_only() as session:
        assert session.scalars(select(Event).where(Event.kind == "reply")).first() is None
