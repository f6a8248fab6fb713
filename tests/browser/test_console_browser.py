"""The staff console end to end in a real browser: the mailed sign-in link, the board,
an answer with a photo that reaches the resident through the SMTP relay, and a walk-in.

The desk runs on waitress on a loopback port and sends through the real relay; the
sign-in link is taken from the mail the relay received. One run (SQLite) writes the
console's screenshots to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from maildesk.context import Desk
from maildesk.inbound.accept import accept
from tests.browser.conftest import served_desk
from tests.browser.test_status_page_browser import (
    WAIT_MS,
    check_width,
    deliver,
    plain_text,
    tiny_png,
)
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import Relay
from tests.web.consolekit import ANA, STAFF

pytestmark = pytest.mark.integration

RESIDENT = "vecina@correo.example"
REQUESTS = [
    ("Fuga de agua en el baño del depto 402", "Sale agua del flexible del lavamanos, torre B."),
    ("Ruido de fiesta en el piso 7", "Anoche hubo música hasta las 3 de la mañana."),
    ("Ascensor detenido en la torre A", "Urgente: el ascensor no funciona desde esta mañana."),
    ("Consulta por gastos comunes de noviembre", "¿Cuándo vence el pago? Gracias, Ñuñoa."),
]


@pytest.fixture
def console_desk(make_desk: DeskFactory, relay: Relay) -> Iterator[Desk]:
    """A Spanish desk with its staff, mail to the relay, pages on waitress."""
    with served_desk(make_desk, relay, staff=STAFF) as desk:
        yield desk


def sign_in(page: Page, desk: Desk, relay: Relay) -> None:
    """Ask for the link on /staff/, take it from the mail at the relay, press the button."""
    base = desk.config.desk.base_url
    page.goto(base + "/staff/")
    page.get_by_label("Tu correo").fill(ANA)
    with page.expect_navigation():
        page.get_by_role("button", name="Enviarme el enlace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revisa tu correo")
    mail = deliver(desk, relay, to=ANA, count=1)[-1]
    link = re.search(rf"{re.escape(base)}/staff/entrar/\S+", plain_text(mail))
    assert link, plain_text(mail)
    page.goto(link.group(0))
    with page.expect_navigation():
        page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Solicitudes")


def test_staff_sign_in_filter_answer_with_a_photo_and_register_a_walk_in(
    console_desk: Desk, relay: Relay, browser: Browser, database_url: str, tmp_path: Path
) -> None:
    """Signed in from the mailed link: filter the board, answer with a photo (the resident receives it), register a walk-in."""
    desk = console_desk
    for subject, body in REQUESTS:
        accept(desk, make_mail(sender=RESIDENT, subject=subject, body=body), source="pipe")
    deliver(desk, relay, to=RESIDENT, count=len(REQUESTS))
    save = database_url.startswith("sqlite")  # one run writes the screenshots
    context = browser.new_context(locale="es-CL", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        sign_in(page, desk, relay)
        rows = page.locator("table.board tbody tr")
        expect(rows).to_have_count(len(REQUESTS))
        check_width(page, "console-board-desktop.png", 1280, 900, save=save)
        check_width(page, "console-board-phone.png", 390, 844, save=save)
        page.set_viewport_size({"width": 1280, "height": 900})

        # Filter: the free text finds the leak by the words of the resident's mail.
        page.get_by_label("Buscar (número, asunto, residente, unidad, texto)").fill("flexible")
        with page.expect_navigation():
            page.get_by_role("button", name="Filtrar").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Fuga de agua en el baño del depto 402")
        with page.expect_navigation():
            rows.first.get_by_role("link", name="Fuga de agua en el baño del depto 402").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("#1 · Fuga de agua")

        # Answer with a photo, through the ticket's own form.
        photo = tmp_path / "flexible_nuevo_baño.png"
        photo.write_bytes(tiny_png())
        answer = page.get_by_role("form", name="Responder al residente")
        answer.get_by_label("Respuesta").fill(
            "Cambiamos el flexible; te dejo una foto. Saludos, Ana."
        )
        answer.get_by_label("Archivos (hasta 3 de 10 MB)").set_input_files(photo)
        with page.expect_navigation():
            answer.get_by_role("button", name="Enviar").click()
        expect(page.locator(".notes")).to_contain_text("Listo: Responder al residente.")
        expect(page.locator("ol.timeline")).to_contain_text("te dejo una foto")
        check_width(page, "console-ticket-desktop.png", 1280, 900, save=save)
        check_width(page, "console-ticket-phone.png", 390, 844, save=save)
        page.set_viewport_size({"width": 1280, "height": 900})

        # The resident receives it through the relay, photo attached, Ana's address hidden.
        reply = deliver(desk, relay, to=RESIDENT, count=len(REQUESTS) + 1)[-1]
        assert "te dejo una foto" in plain_text(reply)
        [attached] = list(reply.iter_attachments())
        assert attached.get_filename() == photo.name
        assert attached.get_content() == photo.read_bytes()
        assert ANA not in reply.as_string()

        # A walk-in without email, at the lobby.
        with page.expect_navigation():
            page.get_by_role("link", name="Nueva (teléfono o recepción)").click()
        page.get_by_label("recepción").check()
        page.get_by_label("Nombre (obligatorio sin correo)").fill("Don Ramón Ñúñez")
        page.get_by_label("Unidad (torre, depto)").fill("casa 12")
        page.get_by_label("Asunto").fill("Portón eléctrico no abre")
        page.get_by_label("Lo que pide el residente").fill(
            "Vino a recepción: el portón no abre con el control."
        )
        with page.expect_navigation():
            page.get_by_role("button", name="Abrir la solicitud").click()
        expect(page.locator(".notes")).to_contain_text("Solicitud #5 abierta.")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Portón eléctrico no abre")
        expect(page.locator(".facts").first).to_contain_text("Don Ramón Ñúñez (sin correo)")
        expect(page.locator(".facts").first).to_contain_text("recepción")
    finally:
        context.close()
