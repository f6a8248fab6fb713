"""`/nueva`: a request typed on the web is opened only when the mailed link is followed."""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.models import Attachment, Message, Outbox, Ticket, WebRequest
from maildesk.tickets import purge
from maildesk.tickets.web_requests import confirm_web_request
from tests.conftest import DeskFactory
from tests.web.conftest import OTHER, PHOTO, RESIDENT, client_for, csrf_of, open_ticket
from tests.web.consolekit import last_mail_to, text_of

TYPES = {
    "reclamo": {
        "name": "Reclamo",
        "name_en": "Complaint",
        "hint": "Indica la unidad afectada y desde cuándo ocurre.",
        "hint_en": "Say which unit and since when.",
    },
    "gas": {
        "name": "Olor a gas",
        "name_en": "Gas smell",
        "hint": "Para una fuga de gas llame primero al número de emergencia.",
        "hint_en": "For a gas leak call the emergency number first.",
        "category": "mantenimiento",
    },
}
GOOD = {
    "type": "reclamo",
    "title": "Ruido en el piso de arriba, depto 402",
    "text": "Desde el lunes hay ruido después de medianoche. Año nuevo, ñandú.",
    "email": RESIDENT,
    "name": "José Muñoz",
}


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(types=TYPES, web={"languages": ["es", "en"]})


def _post(
    client: FlaskClient, fields: dict[str, str], files: Sequence[tuple[str, str, bytes]] = ()
) -> tuple[int, str]:
    csrf = csrf_of(client.get("/nueva").get_data(as_text=True))
    data: dict[str, object] = {"csrf_token": csrf, **fields}
    data["files"] = [(io.BytesIO(body), name, kind) for name, kind, body in files]
    response = client.post("/nueva", data=data, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def _count(desk: Desk, model: type) -> int:
    with desk.db.read_only() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _link(desk: Desk, address: str = RESIDENT) -> str:
    mail = last_mail_to(desk, address)
    assert mail is not None, f"no mail to {address}"
    match = re.search(r"https://[^/\s]+(/nueva/confirmar/\S+)", text_of(mail))
    assert match, text_of(mail)
    return match.group(1)


def test_form_shows_types_with_their_hints_in_both_languages(desk: Desk) -> None:
    """Each type is a labelled radio button with its hint (and the gas notice), es and en."""
    client = client_for(desk)
    page = client.get("/nueva", headers={"Accept-Language": "es"})
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    es = page.get_data(as_text=True)
    en = client.get("/nueva", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<label for="type-gas">Olor a gas</label>' in es
    assert "Para una fuga de gas llame primero al número de emergencia." in es
    assert 'aria-describedby="hint-gas"' in es and "Nueva solicitud" in es
    assert '<label for="type-gas">Gas smell</label>' in en
    assert "For a gas leak call the emergency number first." in en and "New request" in en
    for label in ("title", "text", "files", "email"):
        assert f'<label for="{label}">' in es


def test_submission_stores_a_pending_request_and_mails_only_the_link(desk: Desk) -> None:
    """A good post: one row, one mail to the address with the link, the files kept, no ticket."""
    status, body = _post(client_for(desk), GOOD, [PHOTO])
    assert status == 200 and "Te enviamos un correo para confirmar" in body
    with desk.db.read_only() as session:
        [row] = session.scalars(select(WebRequest)).all()
        mails = session.execute(select(Outbox.kind, Outbox.recipient)).all()
    assert (row.email, row.name, row.type, row.title) == (
        RESIDENT,
        "José Muñoz",
        "reclamo",
        GOOD["title"],
    )
    assert row.ticket_id is None and row.confirmed_at is None
    assert mails == [("web_request", RESIDENT)]
    token = _link(desk).rsplit("/", 1)[1]
    assert len(token) >= 22 and token not in row.token_hash
    assert _count(desk, Ticket) == 0


def _open(client: FlaskClient, link: str) -> str:
    """Follow the mailed link and press its button; the ticket's page address."""
    csrf = csrf_of(client.get(link).get_data(as_text=True))
    return client.post(link, data={"csrf_token": csrf}).headers["Location"]


def test_following_the_link_opens_one_ticket_with_its_files(desk: Desk) -> None:
    """The link opens a web ticket with the photo and the confirmation; a second use opens none."""
    client = client_for(desk)
    _post(client, GOOD, [PHOTO])
    link = _link(desk)
    shown = client.get(link)  # what a mail scanner's GET sees: the request, and no ticket
    assert shown.status_code == 200 and GOOD["title"] in shown.get_data(as_text=True)
    assert _count(desk, Ticket) == 0
    csrf = csrf_of(shown.get_data(as_text=True))
    first = client.post(link, data={"csrf_token": csrf})
    assert first.status_code == 303 and "/t/" in first.headers["Location"]
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert GOOD["title"] in page and PHOTO[0] in page
    again = client.post(link, data={"csrf_token": csrf})
    assert again.headers["Location"] == first.headers["Location"]
    assert client.get(link).headers["Location"] == first.headers["Location"]
    with desk.db.read_only() as session:
        [ticket] = session.scalars(select(Ticket)).all()
        files = session.scalars(
            select(Attachment.filename).join(Message).where(Message.ticket_id == ticket.id)
        ).all()
        kinds = session.scalars(select(Outbox.kind).where(Outbox.recipient == RESIDENT)).all()
    assert (ticket.channel, ticket.type, ticket.requester_email) == ("web", "reclamo", RESIDENT)
    assert ticket.requester_name == "José Muñoz" and files == [PHOTO[0]]
    assert sorted(kinds) == ["confirmation", "web_request"]


def test_expired_and_unknown_links_open_nothing(desk: Desk, clock: FixedClock) -> None:
    """After `web.request_hours` the link answers 410; a made-up one 404; no ticket either way."""
    client = client_for(desk)
    _post(client, GOOD)
    link = _link(desk)
    clock.advance(timedelta(hours=desk.config.web.request_hours, minutes=1))
    expired = client.get(link)
    assert expired.status_code == 410 and "El enlace venció" in expired.get_data(as_text=True)
    csrf = csrf_of(client.get("/nueva").get_data(as_text=True))
    assert client.post(link, data={"csrf_token": csrf}).status_code == 410
    assert client.get("/nueva/confirmar/" + "A" * 32).status_code == 404
    assert client.post("/nueva/confirmar/" + "A" * 32, data={"csrf_token": csrf}).status_code == 404
    assert _count(desk, Ticket) == 0


def test_a_post_without_csrf_is_refused_with_the_text_kept(desk: Desk) -> None:
    response = client_for(desk).post("/nueva", data=GOOD)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "El formulario expiró" in body and "ñandú" in body and 'name="csrf_token"' in body
    assert _count(desk, WebRequest) == 0


def test_refusals_keep_what_was_typed(desk: Desk) -> None:
    """An oversized file (413) or a bad address (400): the form comes back with the text typed."""
    client = client_for(desk)
    big = ("plano.pdf", "application/pdf", b"x" * (desk.config.web.max_attachment_mb * 2**20 + 1))
    status, body = _post(client, GOOD, [big])
    assert status == 413 and "Ruido en el piso de arriba" in body and "ñandú" in body
    assert 'value="reclamo" required checked' in body and f'value="{RESIDENT}"' in body
    status, body = _post(client, {**GOOD, "email": "no es un correo"})
    assert status == 400 and "Escribe un correo válido" in body and "ñandú" in body
    assert _count(desk, WebRequest) == 0 and _count(desk, Outbox) == 0


def test_answer_is_the_same_for_any_address(desk: Desk) -> None:
    """Known requester or stranger: the same page; each gets only their own link."""
    open_ticket(desk)
    known = _post(client_for(desk), GOOD)
    stranger = _post(client_for(desk), {**GOOD, "email": OTHER})
    assert known == stranger
    assert last_mail_to(desk, OTHER) is not None


def test_rate_limited_per_address(desk: Desk) -> None:
    """Past the per-address limit: 429, the form with its text, nothing stored; others go on."""
    client = client_for(desk)
    allowed = int(desk.config.web.lookup_per_address.split()[0])
    for _ in range(allowed):
        assert _post(client, GOOD)[0] == 200
    status, body = _post(client, GOOD)
    assert status == 429 and "Hiciste demasiadas solicitudes" in body and "ñandú" in body
    assert _post(client, {**GOOD, "email": OTHER})[0] == 200
    assert _count(desk, WebRequest) == allowed + 1


def test_rate_limited_per_client(desk: Desk) -> None:
    """One client trying many addresses is stopped too."""
    client = client_for(desk)
    allowed = int(desk.config.web.lookup_per_client.split()[0])
    statuses = [
        _post(client, {**GOOD, "email": f"v{i}@correo.example"})[0] for i in range(allowed + 1)
    ]
    assert statuses == [200] * allowed + [429]
    assert _count(desk, WebRequest) == allowed


# SQLite serialises writers (BEGIN IMMEDIATE): two claims can only overlap on PostgreSQL.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_clicks_at_once_open_one_ticket(desk: Desk) -> None:
    """A second use waiting on the first's claim (PostgreSQL row lock) gets the same ticket."""
    _post(client_for(desk), GOOD)
    token = _link(desk).rsplit("/", 1)[1]
    with desk.db.transaction() as first, ThreadPoolExecutor(1) as pool:
        mine = confirm_web_request(first, desk, token, now=desk.clock.now())
        assert mine is not None
        theirs = pool.submit(_confirm_alone, desk, token)
        _wait_for_a_lock_wait(desk)
        first.commit()
        assert theirs.result(timeout=30) == mine.number
    assert _count(desk, Ticket) == 1


def _confirm_alone(desk: Desk, token: str) -> int | None:
    with desk.db.transaction() as session:
        ticket = confirm_web_request(session, desk, token, now=desk.clock.now())
        return ticket.number if ticket is not None else None


def _wait_for_a_lock_wait(desk: Desk) -> None:
    """Until another backend waits on a row lock (the second claim), at most 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with desk.db.engine.connect() as connection:
            waiting = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            ).scalar()
        if waiting:
            return
    raise AssertionError("the second claim never waited on the first")


def test_purge_forgets_the_typed_copy_and_requests_never_confirmed(
    desk: Desk, clock: FixedClock
) -> None:
    """A purged web ticket keeps no copy of the form; an unused expired request goes with its file."""
    client = client_for(desk)
    _post(client, GOOD)
    _open(client, _link(desk))
    lone = ("recibo_único.pdf", "application/pdf", b"%PDF-1.4 solo en la solicitud")
    _post(client, {**GOOD, "email": OTHER, "text": "Nunca confirmada"}, [lone])
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        ticket.state = "cerrado"  # closed long ago, as purge requires
        number = ticket.number
    clock.advance(timedelta(days=desk.config.desk.retention_days + 2))
    with desk.db.transaction() as session:
        assert purge.purge_ticket(session, desk, number, now=clock.now()) is not None
        assert purge.forget_unconfirmed(session, desk, clock.now()) == 1
    with desk.db.read_only() as session:
        [kept] = session.scalars(select(WebRequest)).all()
    assert (kept.email, kept.title, kept.text, kept.files) == ("", "", "", "[]")
    assert not desk.blobs.path(hashlib.sha256(lone[2]).hexdigest()).exists()
