"""The console's board: open tickets by default, filters in the query string, SLA
shown as due or late, counts per state, pages, and downloads of the whole filtered set."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.domain import Channel, Via
from maildesk.models import Ticket
from maildesk.sla.escalate import run_pass
from maildesk.tickets import staff
from maildesk.tickets.actor import Actor
from maildesk.tickets.opening import open_ticket as open_row
from maildesk.web import board
from tests.conftest import DeskFactory
from tests.web.conftest import client_for, open_ticket
from tests.web.consolekit import ANA, SOFIA, STAFF, sign_in


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF)


def console(desk: Desk) -> FlaskClient:
    client = client_for(desk)
    sign_in(client, desk, SOFIA)
    return client


def numbers(client: FlaskClient, query: str = "") -> list[int]:
    """The ticket numbers the board lists, in order."""
    response = client.get(f"/staff/tickets{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = []
    for part in page.split('<td data-label="N.º"><a href="/staff/t/')[1:]:
        found.append(int(part.split('"', 1)[0]))
    return found


def act(desk: Desk, number: int, do: object) -> None:
    member = desk.config.staff_member(SOFIA)
    assert member is not None
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        with staff.update(
            session, desk, ticket, Actor.staff(member, Via.CONSOLE), desk.clock.now()
        ) as u:
            do(u)  # type: ignore[operator]


def test_the_board_shows_open_tickets_newest_first_with_counts(
    desk: Desk, clock: FixedClock
) -> None:
    """By default the board lists open tickets, newest first, and counts tickets per state."""
    for subject in ("Fuga de agua", "Ruido de la fiesta", "Ascensor detenido"):
        open_ticket(desk, subject=subject)
        clock.advance(timedelta(minutes=1))
    act(desk, 1, lambda u: u.close("Reparado."))
    client = console(desk)
    assert numbers(client) == [3, 2]
    assert numbers(client, "?state=all") == [3, 2, 1]
    assert numbers(client, "?state=cerrado") == [1]
    assert numbers(client, "?state=closed") == [1]  # the English word too
    page = client.get("/staff/tickets").get_data(as_text=True)
    assert '<span class="count">2</span> recibido' in page
    assert '<span class="count">1</span> cerrado' in page


def test_filters_narrow_the_board(desk: Desk, clock: FixedClock) -> None:
    """priority, category, team, assignee, channel, q (also over message text), from/to and desk each filter."""
    open_ticket(
        desk, subject="Fuga de agua urgente", body="Sale agua del techo del depto 402, torre B."
    )
    clock.advance(timedelta(days=2))
    open_ticket(desk, subject="Consulta de gastos comunes", body="¿Cuándo vence el pago? Ñandú.")
    act(desk, 1, lambda u: u.assign(ANA))
    client = console(desk)
    assert numbers(client, "?priority=alta") == [1]
    assert numbers(client, "?category=mantenimiento") == [1]
    assert numbers(client, "?team=mantenimiento") == [1]
    assert numbers(client, f"?assignee={ANA}") == [1]
    assert numbers(client, "?assignee=-") == [2]
    assert numbers(client, "?channel=email") == [2, 1]
    assert numbers(client, "?channel=phone") == []
    assert numbers(client, "?q=ñandú") == [2]  # the text of a message, any case
    assert numbers(client, "?q=%231") == [1]  # by number
    assert numbers(client, "?q=402") == [1]  # by unit
    assert numbers(client, "?q=vecina@correo") == [2, 1]  # by requester
    assert numbers(client, "?from=2026-11-24") == [2]
    assert numbers(client, "?to=2026-11-23") == [1]
    assert numbers(client, "?desk=otro&priority=nada&sort=drop+table") == [
        2,
        1,
    ]  # unknown values are ignored


def test_overdue_and_the_sla_column(desk: Desk, clock: FixedClock) -> None:
    """A ticket past its first-response target is listed by overdue=1 and shown late; waiting ones are paused."""
    open_ticket(desk, subject="Fuga de agua urgente")  # alta: first response in 1h
    open_ticket(desk, subject="Consulta de gastos comunes")
    open_ticket(desk, subject="Ruido de la fiesta")
    act(desk, 3, lambda u: u.wait("Esperando al residente."))
    clock.advance(timedelta(hours=2))
    client = console(desk)
    assert numbers(client, "?overdue=1") == [1]
    page = client.get("/staff/tickets").get_data(as_text=True)
    assert "atrasada 1 hora" in page and "vence en" in page and "en pausa" in page
    act(desk, 1, lambda u: u.answer("Vamos para allá."))
    assert (
        numbers(client, "?overdue=1") == []
    )  # the first answer met the target; the resolution is not due yet


def test_sorting_and_pages(desk: Desk, clock: FixedClock) -> None:
    """sort= orders the board; 50 per page with links to the next page."""
    with desk.db.transaction() as session:
        for i in range(52):
            open_row(
                session,
                desk,
                subject=f"Solicitud {i}",
                requester_email="vecina@correo.example",
                requester_name="",
                channel=Channel.EMAIL,
                now=clock.now() + timedelta(minutes=i),
                actor="vecina@correo.example",
            )
    client = console(desk)
    first = numbers(client)
    assert len(first) == board.PAGE_SIZE and first[0] == 52
    assert numbers(client, "?page=2") == [2, 1]
    assert numbers(client, "?sort=opened")[:2] == [1, 2]
    assert numbers(client, "?sort=number&page=2") == [51, 52]
    assert 'rel="next"' in client.get("/staff/tickets").get_data(as_text=True)


def test_downloads_hold_every_page_of_the_filtered_set(desk: Desk, clock: FixedClock) -> None:
    """format=csv and format=xlsx give every filtered ticket, with accents intact, not only one page."""
    with desk.db.transaction() as session:
        for i in range(55):
            open_row(
                session,
                desk,
                subject=f"Baño con filtración {i}",
                requester_email="vecina@correo.example",
                requester_name="María Ñúñez",
                channel=Channel.PHONE,
                now=clock.now(),
                actor=SOFIA,
            )
    open_ticket(desk, subject="Ruido de la fiesta")
    client = console(desk)
    csv_response = client.get("/staff/tickets?channel=phone&format=csv")
    assert csv_response.status_code == 200
    assert "attachment" in csv_response.headers["Content-Disposition"]
    lines = csv_response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("N.º,Asunto,Estado") and len(lines) == 56
    assert "Baño con filtración 0" in csv_response.get_data(as_text=True)
    assert "teléfono" in lines[1]
    xlsx = client.get("/staff/tickets?channel=phone&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 56 and rows[1][7] == "vecina@correo.example"
    assert all("filtración" in str(r[1]) for r in rows[1:])


def test_tickets_from_before_the_due_column_get_it_from_the_escalation_pass(
    desk: Desk, clock: FixedClock
) -> None:
    """A ticket without a stored deadline (opened before migration 0005) is listed as overdue after the next escalation pass."""
    open_ticket(desk, subject="Fuga de agua urgente")
    with desk.db.transaction() as session:
        session.scalars(select(Ticket)).one().due_at = None
    clock.advance(timedelta(hours=2))
    client = console(desk)
    assert numbers(client, "?overdue=1") == []
    run_pass(desk)
    assert numbers(client, "?overdue=1") == [1]
