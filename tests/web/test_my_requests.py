"""`/mis-solicitudes`: one answer for every address, one mail with a signed link for a
known one, and the link lists the address's requests of every building of the install."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from maildesk import config as config_mod
from maildesk import signing
from maildesk.clock import FixedClock
from maildesk.context import Desk, open_install
from maildesk.domain import Via
from maildesk.inbound.accept import accept
from maildesk.inbound.runner import process_pending
from maildesk.models import Outbox, Ticket
from maildesk.tickets import resident
from maildesk.tickets.actor import Actor
from tests.conftest import SECRET
from tests.desks import NORTE, SUR, install_toml
from tests.mails import make_mail
from tests.outmail import queued_mail
from tests.web.conftest import OTHER, RESIDENT, client_for, csrf_of


@pytest.fixture
def desks(tmp_path: Path, database_url: str, clock: FixedClock) -> Iterator[dict[str, Desk]]:
    install = config_mod.load_install(install_toml(tmp_path, database_url, SECRET))
    opened = open_install(install, upgrade=True, clock=clock)
    yield {d.slug: d for d in opened}
    opened[0].db.dispose()


def _write(desk: Desk, to: str, subject: str) -> Ticket:
    accept(desk, make_mail(sender=RESIDENT, to=to, subject=subject), source="pipe")
    process_pending(desk)
    with desk.db.read_only() as session:
        return session.scalars(
            select(Ticket).where(Ticket.desk_id == desk.desk_id, Ticket.subject == subject)
        ).one()


def _ask(client: FlaskClient, typed: str) -> tuple[int, str]:
    csrf = csrf_of(client.get("/mis-solicitudes").get_data(as_text=True))
    response = client.post("/mis-solicitudes", data={"csrf_token": csrf, "email": typed})
    return response.status_code, response.get_data(as_text=True)


def _links(desk: Desk) -> list[EmailMessage]:
    raws = queued_mail(desk, Outbox.kind == "requests_link")
    return [email.message_from_bytes(raw, policy=default) for raw in raws]


def _url_in(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    match = re.search(r"https://\S+/mis-solicitudes/(\S+)", body.get_content())
    assert match, body.get_content()
    return "/mis-solicitudes/" + match.group(1)


def test_the_form_has_a_label_and_needs_csrf(desk: Desk) -> None:
    """The form is labelled; a post without its CSRF token is refused and mails nothing."""
    client = client_for(desk)
    html = client.get("/mis-solicitudes").get_data(as_text=True)
    assert '<label for="email">' in html and 'name="csrf_token"' in html
    assert 'href="/mis-solicitudes"' in client.get("/").get_data(as_text=True)
    response = client.post("/mis-solicitudes", data={"email": RESIDENT})
    assert response.status_code == 400
    assert _links(desk) == []


def test_one_answer_for_all_and_one_mail_listing_both_buildings(
    desks: dict[str, Desk],
) -> None:
    """Known, unknown and garbage addresses get the same page; the known one gets one
    mail whose link lists its requests of Torre Norte and Torre Sur, each with its state
    words, progress and a link to its own building's status page."""
    norte, sur = desks["norte"], desks["sur"]
    leak = _write(norte, NORTE, "Fuga en el baño")
    gate = _write(sur, SUR, "Portón de acceso")
    with sur.db.transaction() as session:
        found = session.get(Ticket, gate.id)
        assert found is not None
        resident.withdraw(
            session, sur, found, Actor.resident(RESIDENT, Via.PAGE), now=sur.clock.now()
        )
    answers = [
        _ask(client_for(norte), RESIDENT.upper()),
        _ask(client_for(norte), OTHER),
        _ask(client_for(norte), "no es un correo"),
        _ask(client_for(norte), "x" * 5000),
    ]
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    [mail] = _links(norte)
    assert mail["To"].addresses[0].addr_spec == RESIDENT
    html = client_for(norte).get(_url_in(mail)).get_data(as_text=True)
    assert "Fuga en el baño" in html and "Portón de acceso" in html
    assert "Torre Norte" in html and "Torre Sur" in html
    assert "Recibida" in html and "paso 1 de 5: recibido" in html
    assert "Cerrada" in html and "paso 5 de 5: cerrado" in html
    assert f'href="https://norte.example/t/{leak.status_token}"' in html
    assert f'href="https://sur.example/t/{gate.status_token}"' in html


def test_an_address_without_requests_gets_no_mail(desk: Desk) -> None:
    status, _ = _ask(client_for(desk), RESIDENT)
    assert status == 200 and _links(desk) == []


def test_forged_and_expired_links_are_refused(desk: Desk, clock: FixedClock) -> None:
    """A link signed by another secret or altered: 403; past `web.list_hours`: 410."""
    accept(desk, make_mail(sender=RESIDENT, subject="Ascensor detenido"), source="pipe")
    _ask(client_for(desk), RESIDENT)
    [mail] = _links(desk)
    url = _url_in(mail)
    client = client_for(desk)
    assert "Ascensor detenido" in client.get(url).get_data(as_text=True)
    foreign = signing.list_link_token("another-install", RESIDENT, clock.now() + timedelta(hours=1))
    for forged in (f"/mis-solicitudes/{foreign}", url[:-3] + "abc", "/mis-solicitudes/x.y"):
        response = client.get(forged)
        assert response.status_code == 403, forged
        assert "Ascensor" not in response.get_data(as_text=True)
    clock.advance(timedelta(hours=23))
    assert client.get(url).status_code == 200
    clock.advance(timedelta(hours=2))
    response = client.get(url)
    assert response.status_code == 410 and "Pide uno nuevo con tu correo" in response.get_data(
        as_text=True
    )


def test_the_form_is_rate_limited_per_address_and_per_client(desk: Desk) -> None:
    """After `lookup_per_address` posts one address gets 429 (others still pass); one
    client trying many addresses is stopped at `lookup_per_client`."""
    client = client_for(desk)
    allowed = int(desk.config.web.lookup_per_address.split()[0])
    for _ in range(allowed):
        assert _ask(client, RESIDENT)[0] == 200
    assert _ask(client, RESIDENT.upper())[0] == 429
    assert _ask(client, OTHER)[0] == 200
    other_client = client_for(desk)
    statuses = [_ask(other_client, f"v{i}@correo.example")[0] for i in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_a_known_address_and_a_stranger_write_the_same_rows(desks: dict[str, Desk]) -> None:
    """Both queue the link's mail and write it (the stranger's is rolled back after): the
    same statements, so the time taken does not tell whether an address has requests."""
    norte = desks["norte"]
    _write(norte, NORTE, "Fuga en el baño")
    writes: list[str] = []

    def record(conn: object, cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            writes.append(" ".join(statement.split()[:3]).upper())

    client = client_for(norte)
    seen: dict[str, list[str]] = {}
    for typed in (RESIDENT, "extrana@correo.example"):
        writes.clear()
        event.listen(norte.db.engine, "before_cursor_execute", record)
        try:
            assert _ask(client, typed)[0] == 200
        finally:
            event.remove(norte.db.engine, "before_cursor_execute", record)
        seen[typed] = list(writes)
    assert "INSERT INTO OUTBOX" in seen[RESIDENT]
    assert seen["extrana@correo.example"] == seen[RESIDENT]
    assert len(_links(norte)) == 1
