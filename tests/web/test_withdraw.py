"""Withdrawing a request from its status page (confirmation step, closed without success,
staff told, the resident mailed once), and the page's open-or-closed-now box."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default

from flask.testing import FlaskClient
from sqlalchemy import select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.domain import EventKind
from maildesk.models import Event, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.outmail import queued_mail
from tests.web.conftest import ANA, RESIDENT, STAFF, Opened, client_for, csrf_of, open_ticket

CONTACTS = ["Conserjería: +56 2 2345 6789", "Gas (emergencias): 800 123 456"]


def _ticket(desk: Desk, number: int) -> Ticket:
    with desk.db.read_only() as session:
        return session.scalars(select(Ticket).where(Ticket.number == number)).one()


def _text_to(desk: Desk, kind: str, recipient: str) -> str:
    """The plain text of the latest mail of `kind` to `recipient`."""
    *_, raw = queued_mail(desk, Outbox.kind == kind, Outbox.recipient == recipient)
    body = email.message_from_bytes(raw, policy=default).get_body(("plain",))
    return str(body.get_content())


def _mails(desk: Desk) -> list[tuple[str, str]]:
    with desk.db.read_only() as session:
        return [
            (kind, recipient)
            for kind, recipient in session.execute(
                select(Outbox.kind, Outbox.recipient).order_by(Outbox.id)
            )
        ]


def _withdraw(client: FlaskClient, opened: Opened) -> int:
    """The resident's two steps: open the confirmation page, then post its form."""
    page = client.get(f"/t/{opened.token}/retirar")
    assert page.status_code == 200
    csrf = csrf_of(page.get_data(as_text=True))
    response = client.post(f"/t/{opened.token}/retirar", data={"csrf_token": csrf})
    return response.status_code


def test_the_button_leads_to_a_confirmation_that_changes_nothing(staffed: Desk) -> None:
    """An open request's page offers the button; the confirmation page alone closes nothing."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    page = client.get(f"/t/{opened.token}").get_data(as_text=True)
    assert "Retirar mi solicitud" in page and f'action="/t/{opened.token}/retirar"' in page
    step = client.get(f"/t/{opened.token}/retirar").get_data(as_text=True)
    assert "¿Retirar tu solicitud?" in step and 'method="post"' in step
    assert _ticket(staffed, opened.number).state == "recibido"


def test_withdraw_closes_without_success_tells_staff_and_mails_the_resident_once(
    staffed: Desk,
) -> None:
    opened = open_ticket(staffed)
    before = _mails(staffed)
    client = client_for(staffed)
    assert _withdraw(client, opened) == 303
    ticket = _ticket(staffed, opened.number)
    assert ticket.state == "cerrado" and ticket.outcome == "failure"
    assert ticket.resolution == "Retirada por el residente."
    with staffed.db.read_only() as session:
        [event] = session.scalars(
            select(Event).where(Event.ticket_id == ticket.id, Event.kind == EventKind.STATE.value)
        ).all()
    assert event.actor == RESIDENT
    new = _mails(staffed)[len(before) :]
    assert new.count(("state_change", RESIDENT)) == 1
    assert ("staff_notice", ANA) in new  # Ana's team holds a leak
    assert "El residente retiró su solicitud" in _text_to(staffed, "staff_notice", ANA)
    assert "Retiraste tu solicitud" in _text_to(staffed, "state_change", RESIDENT)
    page = client.get(f"/t/{opened.token}", follow_redirects=True).get_data(as_text=True)
    assert "Retiraste tu solicitud" in page and "Retirar mi solicitud" not in page


def test_withdraw_is_refused_on_a_closed_request(staffed: Desk) -> None:
    """A second post (an old tab) changes nothing and mails nobody; the step sends back."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    csrf = csrf_of(client.get(f"/t/{opened.token}/retirar").get_data(as_text=True))
    assert client.post(f"/t/{opened.token}/retirar", data={"csrf_token": csrf}).status_code == 303
    sent = _mails(staffed)
    again = client.post(
        f"/t/{opened.token}/retirar", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "La solicitud ya está cerrada." in again.get_data(as_text=True)
    assert _mails(staffed) == sent
    step = client.get(f"/t/{opened.token}/retirar")
    assert step.status_code == 303 and step.headers["Location"].endswith(f"/t/{opened.token}")


def test_withdraw_needs_csrf_and_a_real_token(staffed: Desk) -> None:
    opened = open_ticket(staffed)
    client = client_for(staffed)
    assert client.post(f"/t/{opened.token}/retirar").status_code == 400
    assert _ticket(staffed, opened.number).state == "recibido"
    assert client.get("/t/" + "A" * 32 + "/retirar").status_code == 404


def test_status_page_says_open_now_on_monday_morning(make_desk: DeskFactory) -> None:
    """Monday 23 Nov 2026, 10:00 in Santiago: open, with the emergency contacts."""
    desk = make_desk(staff=STAFF, desk={"emergency_contacts": CONTACTS})
    opened = open_ticket(desk)
    page = client_for(desk).get(f"/t/{opened.token}").get_data(as_text=True)
    assert "Atendemos ahora." in page
    assert "<li>Conserjería: +56 2 2345 6789</li>" in page


def test_status_page_says_closed_on_saturday_and_when_it_opens(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """Saturday 28 Nov 2026 at noon in Santiago: closed until Monday 30 at 09:00, in
    Spanish and in English."""
    desk = make_desk(desk={"emergency_contacts": CONTACTS}, web={"languages": ["es", "en"]})
    opened = open_ticket(desk)
    clock.current = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    client = client_for(desk)
    spanish = client.get(f"/t/{opened.token}", headers={"Accept-Language": "es"})
    text = spanish.get_data(as_text=True)
    assert "fuera del horario" in text and "Volvemos a atender el 30 nov 2026, 9:00" in text
    english = client.get(f"/t/{opened.token}", headers={"Accept-Language": "en"})
    text = english.get_data(as_text=True)
    assert "outside office hours" in text and "We open again on Nov 30, 2026, 9:00" in text
    assert "Gas (emergencias): 800 123 456" in text


def test_the_new_request_form_says_closed_and_whom_to_call(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """`/nueva` on Saturday shows the same box: closed, when it opens, the emergency lines."""
    desk = make_desk(desk={"emergency_contacts": CONTACTS})
    clock.current = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    text = client_for(desk).get("/nueva").get_data(as_text=True)
    assert "fuera del horario" in text and "Volvemos a atender el 30 nov 2026, 9:00" in text
    assert "<li>Conserjería: +56 2 2345 6789</li>" in text
