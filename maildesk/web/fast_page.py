"""A cached status page answered in front of Flask: the steady view in a few steps.

Residents reload `/t/<token>` and monitors poll it; once its page is in the cache
(`page_cache`) and the viewer's session already holds its CSRF secret, the answer is the
stored page with that viewer's token signed in. Flask's machinery around that (request
and app contexts, routing, the before and after hooks, a Response object, the session
written back) cost more than the view itself, so this WSGI layer answers such a view
with the view's own functions and data, and hands every other request to Flask as it
came:
- another path or method, a malformed or unknown token (Flask answers the same 404);
- a page not cached for this stamp, so stale or never rendered (Flask renders and keeps it);
- a session Flask would write back or answer of its own: none yet or unreadable (a new
  CSRF secret and its cookie), a permanent one (refreshed on each request), flashed notes;
- anything that fails here (Flask answers and logs it as it always has).

The viewer's signatures cost most of such a view, so they are checked and made once
(`viewer_cache`): the session cookie verified once per exact `Cookie` header (its age
checked at every view, as Flask checks it) and the CSRF token signed once per second.

What it answers is what the view answers: the same bytes (the page the view stored,
`page_cache.with_csrf`), the same headers (`status.PAGE_HEADERS`, the app's
`SECURITY_HEADERS`, and `Vary: Cookie` as Flask adds for a session read), no cookie (the
session did not change), the same time in `/metrics` under the view's endpoint, log lines
inside a clean `logs.about`. The page's GET has no rate limit (the limits are on posts),
so there is none to count here. The desk is the app's, chosen by Host before this layer
(`hosts.DeskHosts`). Conditional requests are not supported by either path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from maildesk import logs
from maildesk.context import Desk
from maildesk.web import SECURITY_HEADERS, language_of, page_cache, status, tokens
from maildesk.web.metrics import LATENCY
from maildesk.web.viewer_cache import CsrfTokens, VerifiedSessions

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

PREFIX = "/t/"
# The view's endpoint, so that both paths' times are one series in `/metrics`.
ENDPOINT = f"{status.bp.name}.{status.ticket.__name__}"
MAX_PLACES = 256


class FastPage:
    """WSGI: a cache hit of `/t/<token>` answered here, anything else by `flask_app`."""

    def __init__(self, app: Flask, flask_app: WSGIApplication) -> None:
        self.app, self.flask_app = app, flask_app
        self.desk: Desk = app.config["DESK"]
        self.pages = status.pages_of(app)
        # As `flask_wtf.csrf.generate_csrf` signs the session's secret (its key, its salt),
        # so `validate_csrf` accepts the forms of a page served here.
        self.csrf_field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        key: str | bytes = app.config.get("WTF_CSRF_SECRET_KEY") or app.config["SECRET_KEY"]
        self.csrf = CsrfTokens(URLSafeTimedSerializer(key, salt="wtf-csrf-token"))
        self.sessions = VerifiedSessions(app, self.csrf_field)
        self.latency = LATENCY.labels(self.desk.slug, ENDPOINT)
        # In Flask's order: the view's, then the body's, then `secure`'s and the session's.
        self.view_headers = list(status.PAGE_HEADERS.items())
        self.after_headers = [*SECURITY_HEADERS.items(), ("Vary", "Cookie")]
        self.places: dict[tuple[str | None, str | None], tuple[str, str]] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or not path.startswith(PREFIX):
            return self.flask_app(environ, start_response)
        began = time.perf_counter()
        with logs.about():
            try:
                body = self._cached(environ, path[len(PREFIX) :])
            except Exception:  # Flask meets it again, answers it and logs it
                log.debug("status page fast path failed; Flask answers", exc_info=True)
                body = None
        if body is None:
            return self.flask_app(environ, start_response)
        start_response(
            "200 OK",
            [
                *self.view_headers,
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *self.after_headers,
            ],
        )
        self.latency.observe(time.perf_counter() - began)
        return [] if method == "HEAD" else [body]

    def _cached(self, environ: WSGIEnvironment, token: str) -> bytes | None:
        """The page's bytes for this viewer, or None for Flask to answer."""
        if not tokens.looks_like(token):  # an attachment, a form's page: no session read
            return None
        secret = self.sessions.csrf_secret(environ.get("HTTP_COOKIE"))
        if secret is None:
            return None
        fresh = status.fresh_or_none(self.desk, token)
        if fresh is None:
            return None
        language, script_root = self._where(environ)
        key = status.page_key(self.desk, token, language, script_root)
        page = self.pages.get(key, fresh.stamp)
        if page is None:
            return None
        return page_cache.with_csrf(page, self.csrf.token(secret)).encode()

    def _where(self, environ: WSGIEnvironment) -> tuple[str, str]:
        """The page's language and URL prefix, as Flask's request reads them.

        Both come from two environ values only (`Accept-Language`, `SCRIPT_NAME`), so they
        are kept by those, sparing a request object per view; at most `MAX_PLACES` pairs,
        as clients write the header (later ones are read at each view).
        """
        asked = (environ.get("HTTP_ACCEPT_LANGUAGE"), environ.get("SCRIPT_NAME"))
        found = self.places.get(asked)
        if found is None:
            request = self.app.request_class(environ)
            found = (language_of(self.desk, request), request.script_root)
            if len(self.places) < MAX_PLACES:
                self.places[asked] = found
        return found
