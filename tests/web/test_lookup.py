"""The lookup form mails the link to the requester only, reveals nothing, and is rate-limited."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.models import Outbox
from tests.outmail import queued_mail
from tests.web.conftest import OTHER, RESIDENT, client_for, csrf_of, open_ticket


def _ask(client: FlaskClient, number: str, email: str, path: str = "/buscar") -> tuple[int, str]:
    csrf = csrf_of(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": csrf, "number": number, "email": email})
    return response.status_code, response.get_data(as_text=True)


def _links(desk: Desk) -> list[Outbox]:
    with desk.db.read_only() as session:
        return list(session.scalars(select(Outbox).where(Outbox.kind == "status_link")))


def test_lookup_form_has_labels_and_csrf(desk: Desk) -> None:
    """`/` and `/buscar` show the form with a label for each input."""
    for path in ("/", "/buscar"):
        html = client_for(desk).get(path).get_data(as_text=True)
        assert '<label for="number">' in html and '<label for="email">' in html
        assert 'name="csrf_token"' in html


def test_matching_number_and_email_mail_the_link(desk: Desk) -> None:
    """Number and requester address match: a status_link mail with the link is queued to them."""
    opened = open_ticket(desk)
    status, _ = _ask(client_for(desk), f"#{opened.number}", RESIDENT.upper())
    assert status == 200
    [row] = _links(desk)
    assert row.recipient == RESIDENT and row.automatic
    [raw] = queued_mail(desk, Outbox.id == row.id)
    assert desk.status_url(opened.token).encode() in raw.replace(b"=\r\n", b"")


def test_answer_is_identical_whether_or_not_the_ticket_exists(desk: Desk) -> None:
    """Existing ticket, wrong address, unknown number, garbage: the same page, and mail only for the match."""
    opened = open_ticket(desk)
    answers = [
        _ask(client_for(desk), str(opened.number), RESIDENT),
        _ask(client_for(desk), str(opened.number), OTHER),
        _ask(client_for(desk), "999", RESIDENT),
        _ask(client_for(desk), "abc", "nada"),
    ]
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    assert len(_links(desk)) == 1


def test_lookup_is_rate_limited_per_address(desk: Desk) -> None:
    """After the per-address limit the same address gets a 429 page, even with other numbers."""
    client = client_for(desk)
    allowed = int(desk.config.web.lookup_per_address.split()[0])
    for n in range(allowed):
        assert _ask(client, str(n + 1), RESIDENT)[0] == 200
    status, body = _ask(client, "77", RESIDENT)
    assert status == 429 and "Demasiados intentos" in body
    assert _ask(client, "77", OTHER)[0] == 200


def test_lookup_is_rate_limited_per_client(desk: Desk) -> None:
    """One client trying many addresses is stopped too."""
    client = client_for(desk)
    statuses = [_ask(client, "1", f"v{i}@correo.example")[0] for i in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]


def test_home_page_shows_the_support_address(make_desk) -> None:  # type: ignore[no-untyped-def]
    """`/` tells residents the address to write to, as a mailto link, in Spanish and in English."""
    link = '<a href="mailto:soporte@alameda.example">soporte@alameda.example</a>'
    desk = make_desk(web={"languages": ["es", "en"]})
    client = client_for(desk)
    spanish = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"escribe un correo a {link}" in spanish
    assert f"write to {link}" in english
