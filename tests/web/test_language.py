"""The page speaks the desk's language, or the browser's when the desk offers both."""

from __future__ import annotations

from tests.conftest import DeskFactory
from tests.web.conftest import client_for, open_ticket


def test_desk_language_by_default(make_desk: DeskFactory) -> None:
    """A Spanish desk answers in Spanish whatever the browser asks."""
    desk = make_desk()
    opened = open_ticket(desk)
    html = (
        client_for(desk)
        .get(f"/t/{opened.token}", headers={"Accept-Language": "en"})
        .get_data(as_text=True)
    )
    assert 'lang="es"' in html and "Estado" in html


def test_browser_language_when_the_desk_offers_both(make_desk: DeskFactory) -> None:
    """With web.languages = ["es", "en"], an English browser reads English and a Spanish one Spanish."""
    desk = make_desk(web={"languages": ["es", "en"]})
    opened = open_ticket(desk)
    client = client_for(desk)
    english = client.get(
        f"/t/{opened.token}", headers={"Accept-Language": "en-US,en;q=0.9"}
    ).get_data(as_text=True)
    spanish = client.get(
        f"/t/{opened.token}", headers={"Accept-Language": "es-CL,es;q=0.9"}
    ).get_data(as_text=True)
    assert 'lang="en"' in english and "Office hours" in english
    assert 'lang="es"' in spanish and "Horario de atención" in spanish
