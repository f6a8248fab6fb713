"""End to end in a real browser: a resident's mail, the link in the real confirmation, the page.

The desk runs its production web server (waitress) on a loopback port and sends mail
through a real SMTP relay; Chromium opens the status link taken from the confirmation
mail the relay received, replies with a photo, and confirms the resolution.
"""

from __future__ import annotations

import email
import email.policy
import re
import struct
import time
import zlib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.models import Ticket
from maildesk.tickets import changes
from maildesk.tickets.states import Action
from tests.browser.conftest import served_desk
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import Relay

pytestmark = pytest.mark.integration

RESIDENT = "vecina@correo.example"
ANA = "ana@alameda.example"
SUBJECT = "Fuga de agua en el baño del depto 402"
BODY = (
    "Hola, soy María Ñúñez, vivo en el 402 de la torre B (calle Ñuñoa 1234).\n"
    "Desde anoche el lavamanos del baño pierde agua por el flexible y el piso está mojado.\n"
    "¿Podrían revisarlo pronto? Gracias."
)
REPLY = "Les mando una foto del flexible: sigue goteando después de cerrar la llave de paso."
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_MS = 10_000


def tiny_png(width: int = 16, height: int = 12) -> bytes:
    """A real RGB PNG (an orange-to-blue gradient), built with zlib and struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((255 - 15 * x, 120, 15 * x)) for x in range(width))
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the mail has no text/plain part"
    text: str = part.get_content()
    return text


def mails_to(relay: Relay, address: str) -> list[EmailMessage]:
    return [parsed(m.raw) for m in relay.messages if address in m.rcpt_tos]


def deliver(desk: Desk, relay: Relay, *, to: str, count: int) -> list[EmailMessage]:
    """Send the outbox and wait until `address` has received `count` mails in all."""
    send_outbox(desk)
    deadline = time.monotonic() + 10
    while len(received := mails_to(relay, to)) < count:
        assert time.monotonic() < deadline, f"{to} got {len(received)} of {count} mails"
        time.sleep(0.05)
    return received


def ticket_state(desk: Desk) -> str:
    with desk.db.read_only() as session:
        return session.scalars(select(Ticket)).one().state


@pytest.fixture
def web_desk(make_desk: DeskFactory, relay: Relay) -> Iterator[Desk]:
    """A Spanish desk with Ana in maintenance, its mail to the relay, its page on waitress."""
    with served_desk(
        make_desk,
        relay,
        staff=[{"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]}],
    ) as desk:
        yield desk


def check_width(page: Page, name: str, width: int, height: int, *, save: bool) -> None:
    """At this viewport nothing scrolls sideways; with `save`, a full-page screenshot too."""
    page.set_viewport_size({"width": width, "height": height})
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name}: the page is {scroll_width} px wide at {width} px"
    if save:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True, animations="disabled")


def test_resident_follows_replies_and_confirms_in_a_real_browser(
    web_desk: Desk, relay: Relay, browser: Browser, database_url: str, tmp_path: Path
) -> None:
    """From the link in the real confirmation mail: read the timeline, reply with a photo (staff told by mail), confirm, closed."""
    desk = web_desk
    accept(desk, make_mail(sender=RESIDENT, subject=SUBJECT, body=BODY), source="pipe")
    (confirmation,) = deliver(desk, relay, to=RESIDENT, count=1)
    base = desk.config.desk.base_url
    link = re.search(rf"{re.escape(base)}/t/[A-Za-z0-9_-]+", plain_text(confirmation))
    assert link, f"no status link in the confirmation:\n{plain_text(confirmation)}"
    notices_before = len(mails_to(relay, ANA))

    context = browser.new_context(locale="es-CL", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        response = page.goto(link.group(0))
        assert response is not None and response.status == 200
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", level=1)).to_contain_text(SUBJECT)
        timeline = page.locator("ol.timeline")
        expect(timeline.locator("li.mine").first).to_contain_text("soy María Ñúñez")
        expect(timeline).to_contain_text("calle Ñuñoa 1234")
        expect(timeline).to_contain_text("el piso está mojado")
        expect(timeline).to_contain_text("Recibimos tu solicitud")

        # Reply with a photo through the page's own form (CSRF token and cookie included).
        photo = tmp_path / "flexible_baño.png"
        photo.write_bytes(tiny_png())
        page.locator("#text").fill(REPLY)
        page.locator("#files").set_input_files(photo)
        with page.expect_navigation():
            page.get_by_role("button", name="Enviar").click()
        expect(page.locator(".notes")).to_contain_text("Recibimos tu mensaje")
        mine = timeline.locator("li.mine")
        expect(mine.last).to_contain_text(REPLY)
        photo_link = mine.last.get_by_role("link", name="flexible_baño.png")
        expect(photo_link).to_be_visible()
        href = photo_link.get_attribute("href")
        assert href is not None
        served = context.request.get(base + href)
        assert served.ok and served.body() == photo.read_bytes()
        assert served.headers["content-type"] == "image/png"

        # The reply reached Ana, through the relay, with the resident's words.
        received = deliver(desk, relay, to=ANA, count=notices_before + 1)
        notice = received[-1]
        assert "#" in str(notice["Subject"])
        assert "después de cerrar la llave de paso" in plain_text(notice)
        assert all(RESIDENT not in m.rcpt_tos for m in relay.messages if ANA in m.rcpt_tos)

        # Staff resolve it; the resident sees the question, and confirms.
        with desk.db.transaction() as session:
            ticket = session.scalars(select(Ticket)).one()
            changes.transition(
                session,
                ticket,
                Action.RESOLVE,
                config=desk.config,
                actor=ANA,
                now=desk.clock.now(),
                note="Cambiamos el flexible.",
            )
        page.reload()
        expect(page.get_by_role("heading", name="¿Quedó resuelta?")).to_be_visible()
        expect(page.locator(".facts")).to_contain_text("Resuelta, esperando tu confirmación")
        save = database_url.startswith("sqlite")  # one run writes the screenshots
        check_width(page, "ticket-phone.png", 390, 844, save=save)
        check_width(page, "ticket-desktop.png", 1280, 900, save=save)
        with page.expect_navigation():
            page.get_by_role("button", name="Sí, quedó resuelta").click()
        expect(page.locator(".notes")).to_contain_text("Gracias por confirmar")
        expect(page.locator(".facts")).to_contain_text("Cerrada")
        expect(page.get_by_role("button", name="Sí, quedó resuelta")).to_have_count(0)
    finally:
        context.close()
    assert ticket_state(desk) == "cerrado"
