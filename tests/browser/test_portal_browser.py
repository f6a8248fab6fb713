"""End to end in a real browser: `/nueva` with a photo, the mailed link, the new ticket's page.

The desk runs waitress on a loopback port and mails through a real SMTP relay; Chromium
fills in the form, the link is read from the mail the relay received, and following it
shows the status page of the ticket it opened.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.models import Ticket
from tests.browser.conftest import served_desk
from tests.browser.test_status_page_browser import (
    WAIT_MS,
    check_width,
    deliver,
    plain_text,
    tiny_png,
)
from tests.conftest import DeskFactory
from tests.servers import Relay

pytestmark = pytest.mark.integration

RESIDENT = "vecina@correo.example"
TITLE = "Filtración en el techo del baño, depto 402"
TEXT = "Cae agua del techo cuando llueve; la mancha crece. Soy María Ñúñez, torre B."
TYPES = {
    "reclamo": {"name": "Reclamo", "hint": "Indica la unidad afectada y desde cuándo ocurre."},
    "gas": {
        "name": "Olor a gas",
        "hint": "Para una fuga de gas llame primero al número de emergencia.",
    },
}


@pytest.fixture
def portal_desk(make_desk: DeskFactory, relay: Relay) -> Iterator[Desk]:
    """A Spanish desk with request types, its mail to the relay, its pages on waitress."""
    with served_desk(make_desk, relay, types=TYPES) as desk:
        yield desk


def test_resident_opens_a_request_from_the_form_in_a_real_browser(
    portal_desk: Desk, relay: Relay, browser: Browser, database_url: str, tmp_path: Path
) -> None:
    """Form with a photo, the link from the real mail, then the new ticket's page with the photo."""
    desk = portal_desk
    base = desk.config.desk.base_url
    photo = tmp_path / "mancha_baño.png"
    photo.write_bytes(tiny_png())
    context = browser.new_context(locale="es-CL", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        page.goto(base + "/")
        page.get_by_role("link", name="Hacer una solicitud en la página").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Nueva solicitud")
        expect(page.locator("#hint-gas")).to_contain_text("llame primero al número de emergencia")
        page.get_by_label("Reclamo").check()
        page.locator("#title").fill(TITLE)
        page.locator("#text").fill(TEXT)
        page.locator("#files").set_input_files(photo)
        page.locator("#email").fill(RESIDENT)
        save = database_url.startswith("sqlite")  # one run writes the screenshot
        check_width(page, "new-request-phone.png", 390, 844, save=save)
        with page.expect_navigation():
            page.get_by_role("button", name="Enviar solicitud").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Revisa tu correo")
        with desk.db.read_only() as session:
            assert session.scalars(select(Ticket)).all() == []

        (mail,) = deliver(desk, relay, to=RESIDENT, count=1)
        link = re.search(rf"{re.escape(base)}/nueva/confirmar/[A-Za-z0-9_-]+", plain_text(mail))
        assert link, plain_text(mail)
        page.goto(link.group(0))
        page.get_by_role("button", name="Enviar mi solicitud").click()
        expect(page).to_have_url(re.compile(r"/t/[A-Za-z0-9_-]+$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
        timeline = page.locator("ol.timeline")
        expect(timeline.locator("li.mine").first).to_contain_text("Soy María Ñúñez")
        expect(timeline.get_by_role("link", name="mancha_baño.png")).to_be_visible()
        check_width(page, "new-request-opened-phone.png", 390, 844, save=save)
    finally:
        context.close()
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.channel, ticket.type, ticket.requester_email) == ("web", "reclamo", RESIDENT)
