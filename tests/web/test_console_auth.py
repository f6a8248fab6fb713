"""The console's sign-in: one-time mailed links, sessions that end, nothing to enumerate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from maildesk import cli
from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.models import Outbox
from maildesk.web import create_app
from tests.conftest import DeskFactory
from tests.web.conftest import client_for, csrf_of
from tests.web.consolekit import (
    ANA,
    LUIS,
    RESIDENT,
    STAFF,
    ask_link,
    follow_link,
    mailed_link,
    sign_in,
)

PAGES = ["/staff/tickets", "/staff/t/1", "/staff/nuevo", "/staff/tickets?format=csv"]


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF)


def outbox_count(desk: Desk) -> int:
    with desk.db.read_only() as session:
        return session.scalar(select(func.count()).select_from(Outbox)) or 0


@pytest.mark.parametrize("path", PAGES)
def test_console_pages_send_strangers_to_sign_in(desk: Desk, path: str) -> None:
    """Without a session every console page redirects to the sign-in page."""
    response = client_for(desk).get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/")


def test_a_staff_address_gets_a_link_that_signs_in_with_a_safe_cookie(desk: Desk) -> None:
    """A staff address gets a mailed link; pressing it signs in with an HttpOnly, SameSite=Lax, Secure cookie."""
    client = client_for(desk)
    ask_link(client, ANA)
    path = mailed_link(desk, ANA)
    page = client.get(path)
    assert page.status_code == 200 and ANA in page.get_data(as_text=True)
    pressed = client.post(path, data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert pressed.status_code == 303
    cookie = pressed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    board = client.get("/staff/tickets")
    assert board.status_code == 200 and "Ana Pérez" in board.get_data(as_text=True)
    assert "Content-Security-Policy" in board.headers


def test_anyone_else_gets_the_same_answer_and_no_mail(desk: Desk) -> None:
    """A resident's or unknown address gets the same page as staff, and nothing is sent."""
    staff_page = ask_link(client_for(desk), ANA)
    sent = outbox_count(desk)
    for address in (RESIDENT, "nadie@ejemplo.example", "no es un correo"):
        assert ask_link(client_for(desk), address) == staff_page
    assert outbox_count(desk) == sent


def test_a_link_works_once(desk: Desk) -> None:
    """A used link is refused the second time, even in another browser."""
    sign_in(client_for(desk), desk, ANA)
    path = mailed_link(desk, ANA)
    other = client_for(desk)
    assert follow_link(other, path) == 400
    assert other.get("/staff/tickets").status_code == 302


def test_a_link_expires_after_fifteen_minutes(desk: Desk, clock: FixedClock) -> None:
    """A link 16 minutes old is refused and signs nobody in."""
    client = client_for(desk)
    ask_link(client, ANA)
    clock.advance(timedelta(minutes=16))
    assert follow_link(client, mailed_link(desk, ANA)) == 400
    assert client.get("/staff/tickets").status_code == 302


def test_a_forged_link_is_refused(desk: Desk) -> None:
    """A link not signed by the desk is refused."""
    assert client_for(desk).get("/staff/entrar/eyJlIjoiYW5hIn0.forged").status_code == 400


def test_the_session_ends_after_the_configured_hours(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """web.staff_session_hours = 2: after two hours the console asks to sign in again."""
    desk = make_desk(staff=STAFF, web={"staff_session_hours": 2})
    client = client_for(desk)
    sign_in(client, desk, ANA)
    clock.advance(timedelta(hours=1, minutes=59))
    assert client.get("/staff/tickets").status_code == 200
    clock.advance(timedelta(minutes=2))
    assert client.get("/staff/tickets").status_code == 302


def test_removing_someone_from_the_config_ends_their_session(make_desk: DeskFactory) -> None:
    """A staff member removed from the configuration is signed out on their next request."""
    desk = make_desk(staff=STAFF)
    app = create_app(desk)
    client = app.test_client()
    sign_in(client, desk, LUIS)
    assert client.get("/staff/tickets").status_code == 200
    app.config["DESK"] = make_desk(staff=[s for s in STAFF if s["email"] != LUIS])
    assert client.get("/staff/tickets").status_code == 302


def test_sign_out_ends_the_session(desk: Desk) -> None:
    """Signing out works; the console then asks to sign in."""
    client = client_for(desk)
    sign_in(client, desk, ANA)
    token = csrf_of(client.get("/staff/tickets").get_data(as_text=True))
    assert client.post("/staff/salir", data={"csrf_token": token}).status_code == 200
    assert client.get("/staff/tickets").status_code == 302


def test_sign_in_form_without_csrf_token_is_refused(desk: Desk) -> None:
    """A sign-in post without the CSRF token is a 400 and sends nothing."""
    response = client_for(desk).post("/staff/", data={"email": ANA})
    assert response.status_code == 400 and outbox_count(desk) == 0


def test_the_sign_in_form_is_rate_limited_per_address(desk: Desk) -> None:
    """Like the lookup form: the fourth request for one address in an hour is refused (429)."""
    client = client_for(desk)
    for _ in range(3):
        ask_link(client, ANA)
    page = client.get("/staff/").get_data(as_text=True)
    response = client.post("/staff/", data={"email": ANA, "csrf_token": csrf_of(page)})
    assert response.status_code == 429


def test_staff_link_command_prints_a_working_link(
    desk: Desk, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """`maildesk staff link EMAIL` prints a link that signs in; a resident's address exits 1."""
    path = str(desk.config.source)
    assert cli.main(["--config", path, "staff", "link", ANA]) == 0
    clock.current = datetime.now(UTC)  # the command ran on the system's clock
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://soporte.alameda.example/staff/entrar/")
    client = client_for(desk)
    assert follow_link(client, link.removeprefix("https://soporte.alameda.example")) == 303
    assert client.get("/staff/tickets").status_code == 200
    assert cli.main(["--config", path, "staff", "link", RESIDENT]) == 1
