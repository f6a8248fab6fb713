"""The status page's fast path answers a cached view exactly as Flask's view would.

Each test asks the same request of the fast path (`FastPage`, the app's `wsgi_app`) and
of Flask behind it (`FastPage.flask_app`), and counts the requests the fast path handed
to Flask, so a test fails both when the answers differ and when the fast path was not
the one answering.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from maildesk import config as config_mod
from maildesk.clock import FixedClock
from maildesk.context import Desk, open_install
from maildesk.inbound.accept import accept
from maildesk.inbound.runner import process_pending
from maildesk.models import Ticket
from maildesk.web import create_app, fast_page, page_cache
from maildesk.web.hosts import desk_hosts
from maildesk.web.metrics import LATENCY
from tests.conftest import SECRET, DeskFactory
from tests.desks import NORTE, SUR, install_toml
from tests.mails import make_mail
from tests.web.conftest import (
    ANA,
    RESIDENT,
    answer_as_ana,
    client_for,
    csrf_of,
    open_ticket,
    sent,
    tampered,
)
from tests.web.test_shared_limits import redis_url  # noqa: F401 (a fixture, asked by name)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class Counted:
    """A WSGI app that counts the requests it is handed."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app, self.calls = app, 0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.calls += 1
        return self.app(environ, start_response)


def fast_of(app: Flask) -> fast_page.FastPage:
    fast = app.wsgi_app
    assert isinstance(fast, fast_page.FastPage)
    return fast


def counted(app: Flask) -> Counted:
    """Flask behind the fast path, counting what the fast path hands it."""
    fast = fast_of(app)
    flask_app = Counted(fast.flask_app)
    fast.flask_app = flask_app
    return flask_app


@dataclass(frozen=True)
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def ask(
    wsgi: WSGIApplication, path: str, *, method: str = "GET", script: str = "", **headers: str
) -> Answer:
    environ = EnvironBuilder(
        path=path, base_url=f"http://localhost{script}", method=method, headers=headers
    ).get_environ()
    body, status, answered = run_wsgi_app(wsgi, environ, buffered=True)
    return Answer(status, list(answered.items()), b"".join(body))


def first_visit(app: Flask, path: str, script: str = "") -> str:
    """A browser's first view: Flask renders and keeps the page and sets the session cookie."""
    answer = ask(app.wsgi_app, path, script=script)
    assert answer.status == "200 OK"
    cookie = dict(answer.headers)["Set-Cookie"]
    return cookie.split(";", 1)[0]


@pytest.fixture
def still_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signed tokens of one second are the same bytes, so two answers compare whole."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: 1_764_547_200)


@pytest.mark.usefixtures("still_second")
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("script", ["", "/soporte"])
def test_a_cached_view_is_the_views_own_answer_byte_for_byte(
    staffed: Desk, method: str, script: str
) -> None:
    """Status, every header in order, body (empty for HEAD): as Flask's view, without Flask."""
    opened = open_ticket(staffed, subject="Fuga en el baño", body="Gotea bajo el lavamanos.")
    app = create_app(staffed)
    path = f"/t/{opened.token}"
    cookie = first_visit(app, path, script)
    flask_app = counted(app)
    fast = ask(app.wsgi_app, path, method=method, script=script, Cookie=cookie)
    assert flask_app.calls == 0
    normal = ask(flask_app, path, method=method, script=script, Cookie=cookie)
    assert fast == normal
    assert not any(name == "Set-Cookie" for name, _ in fast.headers)
    if method == "GET":
        text = fast.body.decode()
        assert "Gotea bajo el lavamanos." in text and "baño" in text
        assert page_cache.CSRF_MARK not in text and f"{script}/t/{opened.token}/" in text
    else:
        assert fast.body == b"" and int(dict(fast.headers)["Content-Length"]) > 1000


@pytest.mark.usefixtures("still_second")
def test_conditional_requests_get_the_whole_page_on_both_paths(staffed: Desk) -> None:
    """Neither path answers 304: a validator from a browser changes nothing."""
    opened = open_ticket(staffed)
    app = create_app(staffed)
    path = f"/t/{opened.token}"
    cookie = first_visit(app, path)
    flask_app = counted(app)
    conditions = {"If-None-Match": '"x"', "If-Modified-Since": "Tue, 01 Dec 2026 00:00:00 GMT"}
    fast = ask(app.wsgi_app, path, Cookie=cookie, **conditions)
    assert flask_app.calls == 0 and fast.status == "200 OK"
    assert fast == ask(flask_app, path, Cookie=cookie, **conditions)


def test_a_reply_posted_from_a_fast_page_passes_csrf(staffed: Desk) -> None:
    """The token signed in by the fast path is one Flask-WTF accepts for this session only."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    flask_app = counted(client.application)
    path = f"/t/{opened.token}"
    client.get(path)
    handed = flask_app.calls
    page = client.get(path).get_data(as_text=True)
    assert flask_app.calls == handed, "the second view was not the fast path's"
    other = client.application.test_client()
    other.get(path)
    assert other.post(f"{path}/responder", data={"csrf_token": csrf_of(page)}).status_code == 400
    answer = client.post(
        f"{path}/responder", data={"csrf_token": csrf_of(page), "text": "Gracias, quedo atenta."}
    )
    assert answer.status_code == 303
    assert "Gracias, quedo atenta." in client.get(path).get_data(as_text=True)


def test_a_change_is_never_served_stale_by_the_fast_path(staffed: Desk) -> None:
    """A staff answer with the clock standing still: Flask renders anew, then the fast path
    serves the new page; the old one never again."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    flask_app = counted(client.application)
    path = f"/t/{opened.token}"
    client.get(path)
    before = client.get(path).get_data(as_text=True)
    assert "Recibida" in before
    answer_as_ana(staffed, opened.number, "Vamos mañana a las 10 con el gasfíter.")
    handed = flask_app.calls
    after = client.get(path).get_data(as_text=True)
    assert flask_app.calls == handed + 1
    again = client.get(path).get_data(as_text=True)
    assert flask_app.calls == handed + 1
    for page in (after, again):
        assert "Vamos mañana a las 10 con el gasfíter." in page and "En progreso" in page


def test_unknown_malformed_and_rotated_tokens_get_flasks_404(staffed: Desk) -> None:
    """Every token that opens nothing is answered by Flask, the same 404 as without the
    fast path, even with a session that the fast path would otherwise serve."""
    opened = open_ticket(staffed)
    app = create_app(staffed)
    cookie = first_visit(app, f"/t/{opened.token}")
    flask_app = counted(app)
    for token in ("x" * 32, opened.token[:-1] + "A", "corto", "a/b" * 10, opened.token + "/"):
        path = f"/t/{token}"
        answer = ask(app.wsgi_app, path, Cookie=cookie)
        assert answer.status.startswith("404"), token
        assert answer == ask(fast_of(app).flask_app, path, Cookie=cookie)
    assert flask_app.calls == 10


def test_sessions_flask_must_write_or_notes_of_a_viewer_go_to_flask(staffed: Desk) -> None:
    """No session yet (a cookie to set), a flashed note: Flask answers them, as before."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    flask_app = counted(client.application)
    path = f"/t/{opened.token}"
    client.get(path)
    assert flask_app.calls == 1
    anonymous = ask(client.application.wsgi_app, path)
    assert flask_app.calls == 2 and "Set-Cookie" in dict(anonymous.headers)
    page = client.get(path).get_data(as_text=True)
    assert flask_app.calls == 2
    client.post(f"{path}/confirmar", data={"csrf_token": csrf_of(page)})
    handed = flask_app.calls
    noted = client.get(path)
    assert flask_app.calls == handed + 1 and noted.status_code == 200


def test_a_staff_members_permanent_session_is_refreshed_by_flask(staffed: Desk) -> None:
    """A console sign-in is a permanent session that Flask sends again with each answer."""
    from tests.web.consolekit import sign_in

    opened = open_ticket(staffed)
    client = client_for(staffed)
    sign_in(client, staffed, ANA)
    flask_app = counted(client.application)
    path = f"/t/{opened.token}"
    for _ in range(2):
        answer = client.get(path)
        assert answer.status_code == 200 and "Set-Cookie" in answer.headers
    assert flask_app.calls == 2


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_a_client_refused_more_posts_still_sees_its_page_on_both_paths(
    make_desk: DeskFactory, request: pytest.FixtureRequest, storage: str
) -> None:
    """The limits are on posts, in either store: a client at its limit gets 429 for a
    post, and the page's view, fast or not, is neither refused nor counted."""
    where = "memory://" if storage == "memory" else request.getfixturevalue("redis_url")
    desk = make_desk(
        desk={"slug": f"t{secrets.token_hex(6)}"},  # keys of this test's own in a shared Redis
        web={"reply_per_client": "1 per hour", "rate_limit_storage": where},
    )
    opened = open_ticket(desk)
    client = client_for(desk)
    flask_app = counted(client.application)
    path = f"/t/{opened.token}"
    client.get(path)
    page = client.get(path).get_data(as_text=True)
    for expected in (303, 429):
        answer = client.post(
            f"{path}/responder", data={"csrf_token": csrf_of(page), "text": "Hola"}
        )
        assert answer.status_code == expected
    handed = flask_app.calls
    for _ in range(3):
        assert client.get(path).status_code == 200
    assert flask_app.calls == handed + 1  # the reply changed the page: rendered once
    limited = client.post(f"{path}/responder", data={"csrf_token": csrf_of(page), "text": "Hola"})
    assert limited.status_code == 429


def test_each_language_gets_its_own_page_from_the_fast_path(make_desk: DeskFactory) -> None:
    """With `web.languages`, the browser's language picks the page, fast path or not."""
    desk = make_desk(web={"languages": ["es", "en"]})
    opened = open_ticket(desk)
    app = create_app(desk)
    path = f"/t/{opened.token}"
    cookie = first_visit(app, path)
    pages = {}
    for accepted in ("en-GB,en;q=0.9", "es-CL,es;q=0.9"):
        ask(app.wsgi_app, path, Cookie=cookie, **{"Accept-Language": accepted})
        flask_app = counted(app)
        pages[accepted[:2]] = ask(
            app.wsgi_app, path, Cookie=cookie, **{"Accept-Language": accepted}
        )
        assert flask_app.calls == 0
        fast_of(app).flask_app = flask_app.app
    assert '<html lang="en"' in pages["en"].body.decode()
    assert '<html lang="es"' in pages["es"].body.decode()


def test_the_view_is_timed_under_the_views_endpoint(staffed: Desk) -> None:
    """`/metrics` counts a fast view where it counts Flask's: status.ticket of the desk."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    flask_app = counted(client.application)
    path = f"/t/{opened.token}"
    client.get(path)

    def views() -> float:
        for metric in LATENCY.collect():
            for sample in metric.samples:
                labels = sample.labels
                if sample.name.endswith("_count") and labels == {
                    "desk": staffed.slug,
                    "endpoint": "status.ticket",
                }:
                    return sample.value
        return 0.0

    before = views()
    client.get(path)
    assert flask_app.calls == 1 and views() == before + 1


def test_a_failure_in_the_fast_path_is_answered_by_flask(
    staffed: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that fails: Flask meets the same error and answers its 500 page."""
    opened = open_ticket(staffed)
    app = create_app(staffed)
    path = f"/t/{opened.token}"
    cookie = first_visit(app, path)
    flask_app = counted(app)

    def broken(*_args: object) -> None:
        raise OperationalError("SELECT", {}, Exception("the database is gone"))

    monkeypatch.setattr(page_cache, "lookup", broken)
    answer = ask(app.wsgi_app, path, Cookie=cookie)
    assert flask_app.calls == 1 and answer.status.startswith("500")
    assert dict(answer.headers)["X-Frame-Options"] == "DENY"


def test_a_token_is_served_fast_only_on_its_own_desks_host(
    tmp_path: Path, database_url: str, clock: FixedClock
) -> None:
    """With a page of Norte cached, Sur's host answers its token with Sur's 404."""
    path = install_toml(tmp_path, database_url, SECRET)
    desks = open_install(config_mod.load_install(path), upgrade=True, clock=clock)
    try:
        norte, sur = desks
        accept(norte, make_mail(sender=RESIDENT, to=NORTE, subject="Fuga norte"), source="pipe")
        accept(sur, make_mail(sender=RESIDENT, to=SUR, subject="Portón sur"), source="pipe")
        process_pending(norte)
        process_pending(sur)
        with norte.db.read_only() as session:
            token = session.scalars(
                select(Ticket.status_token).where(Ticket.desk_id == norte.desk_id)
            ).one()
        client = Client(desk_hosts(desks))
        page = f"/t/{token}"
        for _ in range(2):
            shown = client.get(page, headers={"Host": "norte.example"})
            assert shown.status_code == 200 and "Fuga norte" in shown.get_data(as_text=True)
        elsewhere = client.get(page, headers={"Host": "sur.example"})
        unknown = client.get(f"/t/{'x' * 32}", headers={"Host": "sur.example"})
        assert elsewhere.status_code == 404
        assert elsewhere.get_data() == unknown.get_data()
    finally:
        desks[0].db.dispose()


def test_a_cached_view_sends_its_select_alone(staffed: Desk) -> None:
    """No transaction around the one SELECT: on PostgreSQL a BEGIN and the pool's ROLLBACK
    would be two round trips more than the query."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    flask_app = counted(client.application)
    path = f"/t/{opened.token}"
    client.get(path)
    with sent(staffed) as seen:
        assert client.get(path).status_code == 200
    assert flask_app.calls == 1
    said = [s.strip().strip('"').strip().upper() for s in seen]
    assert not [s for s in said if s.startswith(("BEGIN", "ROLLBACK", "COMMIT"))], seen
    assert [s for s in said if s not in ("", ";")] == [said[-1]] and "SELECT" in said[-1], seen


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_failed_stamp_query_leaves_no_connection_in_autocommit(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection whose SELECT failed is closed, not pooled with autocommit still on,
    where the next transaction would commit statement by statement."""
    engine = desk.db.engine
    engine.dispose()
    monkeypatch.setitem(
        page_cache._COMPILED, engine.dialect.name, page_cache._Compiled("SELECT nonsense", None)
    )
    with pytest.raises(Exception, match="nonsense"):
        page_cache.lookup(desk.db, desk.desk_id, "x" * 32, desk.clock.now())
    connection = engine.raw_connection()
    try:
        assert connection.driver_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        connection.close()


def test_a_tampered_or_expired_cookie_is_flasks_even_once_verified_here(
    staffed: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path keeps the cookies it verified: a byte changed is another cookie, and a
    kept one past `web.staff_session_hours` is refused as Flask refuses it (a new session)."""
    now = [1_764_547_200]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: now[0])
    opened = open_ticket(staffed)
    app = create_app(staffed)
    path = f"/t/{opened.token}"
    cookie = first_visit(app, path)
    flask_app = counted(app)
    assert ask(app.wsgi_app, path, Cookie=cookie).status == "200 OK"
    assert flask_app.calls == 0
    assert "Set-Cookie" in dict(ask(app.wsgi_app, path, Cookie=tampered(cookie)).headers)
    assert flask_app.calls == 1
    now[0] += staffed.config.web.staff_session_hours * 3600
    assert ask(app.wsgi_app, path, Cookie=cookie).status == "200 OK"
    assert flask_app.calls == 1
    now[0] += 1
    expired = ask(app.wsgi_app, path, Cookie=cookie)
    assert flask_app.calls == 2 and expired.status == "200 OK"
    assert "Set-Cookie" in dict(expired.headers)


def test_languages_and_prefixes_are_kept_for_a_bounded_number_of_headers(
    make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond `MAX_PLACES` distinct headers nothing more is kept, and every view still gets
    its own language's page from the fast path."""
    monkeypatch.setattr(fast_page, "MAX_PLACES", 2)
    desk = make_desk(web={"languages": ["es", "en"]})
    opened = open_ticket(desk)
    app = create_app(desk)
    path = f"/t/{opened.token}"
    cookie = first_visit(app, path)
    asked = ["en-GB,en;q=0.9", "es-CL,es;q=0.9", "en-US,en;q=0.8", "es-AR,es;q=0.7"]
    for accepted in asked:
        ask(app.wsgi_app, path, Cookie=cookie, **{"Accept-Language": accepted})
    flask_app = counted(app)
    for accepted in asked:
        page = ask(app.wsgi_app, path, Cookie=cookie, **{"Accept-Language": accepted})
        assert f'<html lang="{accepted[:2]}"' in page.body.decode()
    assert flask_app.calls == 0 and len(fast_of(app).places) == 2
