"""A session cookie is verified once and a CSRF token signed once a second, with the same
answers as Flask's own checks: never another cookie's secret, never an expired session.

`cookie_of` gives the `Cookie` header a browser sends back for a session's data."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from maildesk.web.viewer_cache import MAX_HEADER, CsrfTokens, VerifiedSessions
from tests.web.conftest import tampered

LIFETIME = 3600
SIGNED_AT = 1_764_547_200


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """itsdangerous's clock, for signing and for checking ages alike; set `clock[0]`."""
    now = [SIGNED_AT]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: now[0])
    return now


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=b"k" * 32, PERMANENT_SESSION_LIFETIME=LIFETIME)
    return app


Sign = Callable[[dict[str, object]], str]


@pytest.fixture
def cookie_of(app: Flask) -> Sign:
    """The `Cookie` header of the session cookie Flask writes for `data` (`save_session`)."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]

    def sign(data: dict[str, object]) -> str:
        return f"session={serializer.dumps(data)}"

    return sign


def flask_reads(app: Flask, header: str) -> dict[str, object]:
    """The session Flask's own interface opens from a `Cookie` header."""
    with app.test_request_context(headers={"Cookie": header}) as context:
        session = app.session_interface.open_session(app, context.request)
        assert session is not None
        return dict(session)


def test_each_cookie_gets_its_own_secret_and_a_changed_byte_none(
    app: Flask, cookie_of: Sign, clock: list[int]
) -> None:
    """Two viewers' cookies, each read twice (the second from the cache), and a forgery."""
    sessions = VerifiedSessions(app, "csrf_token")
    mine, theirs = cookie_of({"csrf_token": "a" * 40}), cookie_of({"csrf_token": "b" * 40})
    for _ in range(2):
        assert sessions.csrf_secret(mine) == "a" * 40
        assert sessions.csrf_secret(theirs) == "b" * 40
    assert len(sessions) == 2
    forged = tampered(mine)
    assert sessions.csrf_secret(forged) is None and flask_reads(app, forged) == {}
    assert sessions.csrf_secret(None) is None and sessions.csrf_secret("") is None
    assert sessions.csrf_secret(f"theme=dark; {mine}") == "a" * 40
    assert sessions.csrf_secret(f"{theirs}; {mine}") == "b" * 40  # the first, as Flask reads
    assert flask_reads(app, f"{theirs}; {mine}") == {"csrf_token": "b" * 40}
    assert sessions.csrf_secret(mine.replace("session=", "other=")) is None


def test_an_expired_session_is_not_revived_by_the_cache(
    app: Flask, cookie_of: Sign, clock: list[int]
) -> None:
    """Kept while live, refused the second its age passes Flask's limit, as Flask refuses it."""
    sessions = VerifiedSessions(app, "csrf_token")
    cookie = cookie_of({"csrf_token": "a" * 40})
    assert sessions.csrf_secret(cookie) == "a" * 40
    clock[0] = SIGNED_AT + LIFETIME
    assert sessions.csrf_secret(cookie) == "a" * 40
    assert flask_reads(app, cookie) == {"csrf_token": "a" * 40}
    clock[0] = SIGNED_AT + LIFETIME + 1
    assert sessions.csrf_secret(cookie) is None
    assert flask_reads(app, cookie) == {}
    clock[0] = SIGNED_AT - 1  # signed "in the future": itsdangerous refuses it too
    assert sessions.csrf_secret(cookie) is None
    assert flask_reads(app, cookie) == {}


def test_a_shorter_lifetime_applies_to_sessions_already_kept(
    app: Flask, cookie_of: Sign, clock: list[int]
) -> None:
    """The limit is read at each view, as Flask reads it."""
    sessions = VerifiedSessions(app, "csrf_token")
    cookie = cookie_of({"csrf_token": "a" * 40})
    clock[0] = SIGNED_AT + 60
    assert sessions.csrf_secret(cookie) == "a" * 40
    app.config["PERMANENT_SESSION_LIFETIME"] = 59
    assert sessions.csrf_secret(cookie) is None


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"csrf_token": 7},
        {"csrf_token": "a" * 40, "_permanent": True},
        {"csrf_token": "a" * 40, "_flashes": [("message", "Gracias")]},
    ],
)
def test_sessions_flask_writes_back_have_no_secret_here(
    app: Flask, cookie_of: Sign, clock: list[int], data: dict[str, object]
) -> None:
    """No secret, a permanent session, flashed notes: Flask answers them, cached or not."""
    sessions = VerifiedSessions(app, "csrf_token")
    cookie = cookie_of(data)
    assert flask_reads(app, cookie) == data
    assert sessions.csrf_secret(cookie) is None and sessions.csrf_secret(cookie) is None


def test_the_cache_keeps_the_most_recent_sessions_and_no_long_cookie(
    app: Flask, cookie_of: Sign, clock: list[int]
) -> None:
    """At most `max_sessions` entries, the least recently seen out first; a cookie longer
    than `MAX_HEADER` is verified at every view and never kept."""
    sessions = VerifiedSessions(app, "csrf_token", max_sessions=2)
    first, second, third = (cookie_of({"csrf_token": c * 40}) for c in "abc")
    sessions.csrf_secret(first)
    sessions.csrf_secret(second)
    sessions.csrf_secret(first)
    sessions.csrf_secret(third)
    assert set(sessions._verified) == {first, third}
    long = cookie_of({"csrf_token": "d" * 40, "note": secrets.token_hex(MAX_HEADER)})
    assert len(long) > MAX_HEADER
    assert sessions.csrf_secret(long) == "d" * 40 and long not in sessions._verified


def test_a_csrf_token_is_reused_within_its_second_only(clock: list[int]) -> None:
    """The same bytes Flask-WTF's serializer signs in that second; a new second, a new token."""
    serializer = URLSafeTimedSerializer(b"k" * 32, salt="wtf-csrf-token")
    tokens = CsrfTokens(serializer)
    first = tokens.token("a" * 40)
    assert first == serializer.dumps("a" * 40) == tokens.token("a" * 40)
    assert tokens.token("b" * 40) == serializer.dumps("b" * 40) != first
    clock[0] += 1
    later = tokens.token("a" * 40)
    assert later == serializer.dumps("a" * 40) != first
    assert serializer.loads(later, max_age=0) == "a" * 40


def test_a_token_signed_across_the_turn_of_a_second_is_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Asked in one second, signed in the next: served, never given for the first second."""
    ticks = iter([SIGNED_AT, SIGNED_AT + 1, SIGNED_AT, SIGNED_AT])
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: next(ticks))
    serializer = URLSafeTimedSerializer(b"k" * 32, salt="wtf-csrf-token")
    tokens = CsrfTokens(serializer)
    late = tokens.token("a" * 40)
    on_time = tokens.token("a" * 40)
    assert late != on_time
    assert serializer.loads(on_time, return_timestamp=True)[1].timestamp() == SIGNED_AT
