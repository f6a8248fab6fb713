"""The lookup form against a patient attacker (issue 15, "Smaller"): timing, proxies, huge keys."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from maildesk.context import Desk
from maildesk.models import Outbox
from maildesk.web import create_app
from tests.conftest import DeskFactory
from tests.web.conftest import RESIDENT, csrf_of, open_ticket

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _ask(client: FlaskClient, number: str, email: str, **environ: Any) -> int:
    csrf = csrf_of(client.get("/buscar").get_data(as_text=True))
    data = {"csrf_token": csrf, "number": number, "email": email}
    return client.post("/buscar", data=data, environ_base=environ).status_code


def _statements(desk: Desk, app: Flask, number: str, email: str) -> list[tuple[str, int]]:
    """The SQL one lookup runs: each statement's first words and the size of its largest value."""
    seen: list[tuple[str, int]] = []

    def record(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any
    ) -> None:
        values = params.values() if isinstance(params, dict) else params or ()
        size = max((len(v) for v in values if isinstance(v, bytes | str)), default=0)
        seen.append((" ".join(statement.split()[:3]).upper(), size))

    client = app.test_client()
    csrf = csrf_of(client.get("/buscar").get_data(as_text=True))
    event.listen(desk.db.engine, "before_cursor_execute", record)
    try:
        client.post("/buscar", data={"csrf_token": csrf, "number": number, "email": email})
    finally:
        event.remove(desk.db.engine, "before_cursor_execute", record)
    return seen


def test_a_match_and_a_non_match_do_the_same_work(desk: Desk) -> None:
    """Both build and write the status-link mail (the non-match rolls it back): same inserts, same mail size."""
    opened = open_ticket(desk)
    app = create_app(desk)
    match = _statements(desk, app, str(opened.number), RESIDENT)
    miss = _statements(desk, app, str(opened.number), "otra@correo.example")

    def mail_sizes(seen: list[tuple[str, int]]) -> list[int]:
        return [size for words, size in seen if words.startswith("INSERT INTO OUTBOX")]

    assert len(mail_sizes(match)) == len(mail_sizes(miss)) == 1
    assert abs(mail_sizes(match)[0] - mail_sizes(miss)[0]) < 0.1 * mail_sizes(match)[0]
    selects = [w for w, _ in match if w.startswith("SELECT")]
    assert selects == [w for w, _ in miss if w.startswith("SELECT")]
    with desk.db.read_only() as session:  # and only the match is kept, to be sent
        assert list(
            session.scalars(select(Outbox.recipient).where(Outbox.kind == "status_link"))
        ) == [RESIDENT]


def test_limits_count_clients_behind_trusted_proxies(make_desk: DeskFactory) -> None:
    """With web.trusted_proxies = 1 two clients behind the proxy have their own limit; with 0 a forged header changes nothing."""
    results = {}
    for proxies in (1, 0):
        desk = make_desk(web={"trusted_proxies": proxies, "lookup_per_client": "2 per hour"})
        client = create_app(desk).test_client()
        first = [
            _ask(client, "1", f"v{i}@x.example", HTTP_X_FORWARDED_FOR="203.0.113.7")
            for i in range(3)
        ]
        other = _ask(client, "1", "w@x.example", HTTP_X_FORWARDED_FOR="198.51.100.9")
        results[proxies] = (first, other)
    assert results[1] == ([200, 200, 429], 200)
    assert results[0] == ([200, 200, 429], 429)  # one socket address: one client


def test_the_typed_address_is_bounded_normalised_and_hashed_as_a_key(desk: Desk) -> None:
    """A 100,000-character address is refused and keys no limiter by its text; a full-width, upper-case address still finds its ticket."""
    opened = open_ticket(desk)
    app = create_app(desk)
    client = app.test_client()
    assert _ask(client, str(opened.number), "a" * 100_000 + "@x.example") == 200
    limiter = next(iter(app.extensions["limiter"]))
    keys = [*limiter.storage.storage, *limiter.storage.events]
    assert keys and max(len(k) for k in keys) < 200
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in RESIDENT.upper())
    assert _ask(client, str(opened.number), f"  {full_width} ") == 200
    with desk.db.read_only() as session:
        assert list(
            session.scalars(select(Outbox.recipient).where(Outbox.kind == "status_link"))
        ) == [RESIDENT]
