"""In a real browser: ask for "my requests", follow the mailed link, open a request from
the list, and withdraw it through the confirmation step."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.models import Ticket
from tests.browser.test_status_page_browser import (
    RESIDENT,
    WAIT_MS,
    check_width,
    deliver,
    plain_text,
    web_desk,
)
from tests.mails import make_mail
from tests.servers import Relay

__all__ = ["web_desk"]  # the fixture, used by name

LEAK = "Fuga de agua en el baño"
NOISE = "Ruido de la bomba de agua"


def test_resident_lists_their_requests_and_withdraws_one_in_a_real_browser(
    web_desk: Desk, relay: Relay, browser: Browser, database_url: str
) -> None:
    desk = web_desk
    for subject in (LEAK, NOISE):
        accept(desk, make_mail(sender=RESIDENT, subject=subject), source="pipe")
    deliver(desk, relay, to=RESIDENT, count=2)  # the two confirmations
    base = desk.config.desk.base_url

    context = browser.new_context(locale="es-CL", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        page.goto(base + "/")
        with page.expect_navigation():
            page.get_by_role("link", name="Ver todas mis solicitudes").click()
        page.get_by_label("Tu correo").fill(RESIDENT)
        with page.expect_navigation():
            page.get_by_role("button", name="Enviarme el enlace").click()
        expect(page.locator("main")).to_contain_text("Si ese correo tiene solicitudes")

        mail = deliver(desk, relay, to=RESIDENT, count=3)[-1]
        link = re.search(rf"{re.escape(base)}/mis-solicitudes/\S+", plain_text(mail))
        assert link, plain_text(mail)
        page.goto(link.group(0))
        table = page.locator("table.my-requests")
        expect(table).to_contain_text(LEAK)
        expect(table).to_contain_text(NOISE)
        expect(table).to_contain_text("paso 1 de 5: recibido")
        save = database_url.startswith("sqlite")  # one run writes the screenshots
        check_width(page, "my-requests-phone.png", 390, 844, save=save)
        check_width(page, "my-requests-desktop.png", 1280, 900, save=save)

        with page.expect_navigation():
            table.get_by_role("link", name=NOISE).click()
        expect(page.locator(".open-now")).to_contain_text("Atendemos ahora.")
        with page.expect_navigation():
            page.get_by_role("button", name="Retirar mi solicitud").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("¿Retirar tu solicitud?")
        check_width(page, "withdraw-phone.png", 390, 844, save=save)
        with page.expect_navigation():
            page.get_by_role("button", name="Sí, retirar mi solicitud").click()
        expect(page.locator(".notes")).to_contain_text("Retiraste tu solicitud")
        expect(page.locator(".facts")).to_contain_text("Cerrada")
        expect(page.get_by_role("button", name="Retirar mi solicitud")).to_have_count(0)

        page.goto(link.group(0))
        row = table.locator("tr", has_text=NOISE)
        expect(row).to_contain_text("paso 5 de 5: cerrado")
    finally:
        context.close()
    with desk.db.read_only() as session:
        states = {s: st for s, st in session.execute(select(Ticket.subject, Ticket.state))}
    assert states == {LEAK: "recibido", NOISE: "cerrado"}
