"""The residents' status page: `create_app(desk)` wires its blueprints and protections.

Every form is CSRF-protected (Flask-WTF), the lookup form is rate-limited
(Flask-Limiter, in memory per process, or in the Redis of `web.rate_limit_storage` that
several web workers share), every answer carries the security
headers below, and errors are answered with the page's own short, localised pages.
Behind `web.trusted_proxies` reverse proxies, werkzeug's ProxyFix takes the client's
address from `X-Forwarded-For`, so the limits count clients, not the proxy; with 0
the header is ignored, as anyone can write it.
"""

from __future__ import annotations

import hashlib
import hmac
from importlib.resources import files
from typing import Any

from flask import (
    Flask,
    Request,
    Response,
    current_app,
    has_request_context,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from maildesk.context import Desk
from maildesk.directory.lookup import unit_name
from maildesk.outbound.compose import FILTERS
from maildesk.web.words import WORDS

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

READ_FACTOR = 4

_ERRORS = {
    400: ("bad_request_title", "bad_request"),
    403: ("forbidden_title", "forbidden"),
    404: ("not_found_title", "not_found"),
    410: ("gone_title", "gone"),
    413: ("too_large_title", "too_large"),
    429: ("too_many_title", "too_many"),
}


def desk_of_app() -> Desk:
    desk: Desk = current_app.config["DESK"]
    return desk


def language_of(desk: Desk, asked: Request | None) -> str:
    """The desk's language, or the browser's of `asked` when the desk offers several
    (`web.languages`); the status page's fast path (`fast_page`) asks it without Flask."""
    offered = desk.config.web.languages
    if len(offered) > 1 and asked is not None:
        return asked.accept_languages.best_match(offered, default=desk.language) or desk.language
    return desk.language


def page_language() -> str:
    return language_of(desk_of_app(), request if has_request_context() else None)


def words() -> dict[str, str]:
    return WORDS[page_language()]


def _session_key(secret: str) -> bytes:
    """A key of its own for signed cookies, derived from the desk's secret."""
    return hmac.new(secret.encode(), b"maildesk-web-session", hashlib.sha256).digest()


def create_app(desk: Desk) -> Flask:
    assets = files("maildesk.web_assets")
    app = Flask(
        __name__,
        template_folder=str(assets / "templates"),
        static_folder=str(assets / "static"),
    )
    # Flask escapes only `*.html` by default; our pages are `*.html.j2`, so say it outright.
    app.jinja_options = {**app.jinja_options, "autoescape": True}
    # The same words for stored names as the mails (`{{ ticket.category | category_label }}`).
    app.jinja_env.filters.update(FILTERS, unit_name=unit_name)
    https = desk.config.desk.base_url.lower().startswith("https://")
    app.config.update(
        DESK=desk,
        SECRET_KEY=_session_key(desk.secret),
        # Posts a few times larger than a reply may be are still read, so that a reply
        # refused for its files comes back with its text; only beyond that the 413 page.
        MAX_CONTENT_LENGTH=READ_FACTOR
        * (desk.config.web.max_files * desk.config.web.max_attachment_mb + 1)
        * 1024
        * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        # A console sign-in ends after this long (the session also records its end).
        PERMANENT_SESSION_LIFETIME=desk.config.web.staff_session_hours * 3600,
        # Browsers send no Referer under `Referrer-Policy: no-referrer`, so Flask-WTF's
        # HTTPS referrer check would refuse every form; the token and SameSite cookie remain.
        WTF_CSRF_SSL_STRICT=False,
        WTF_CSRF_TIME_LIMIT=4 * 3600,
    )
    CSRFProtect(app)
    storage = desk.config.web.rate_limit_storage
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=storage,
        # One store for every desk and worker: each desk counts under its own keys.
        key_prefix=f"maildesk:{desk.slug}",
        # Redis down: count in the process for the while, rather than refuse the page.
        in_memory_fallback_enabled=storage != "memory://",
    )

    from maildesk.web import (
        actions,
        console,
        console_auth,
        console_reports,
        fast_page,
        health,
        kb,
        lookup,
        metrics,
        my_requests,
        portal,
        status,
    )

    app.register_blueprint(status.bp)
    app.register_blueprint(actions.bp)
    app.register_blueprint(lookup.bp)
    app.register_blueprint(my_requests.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(kb.bp)
    app.register_blueprint(console_auth.signin_bp)
    app.register_blueprint(console_auth.link_bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(console_reports.bp)
    app.register_blueprint(metrics.bp)
    metrics.instrument(app, desk)
    # A cached status page is answered before Flask's dispatch; the rest goes through.
    app.wsgi_app = fast_page.FastPage(app, app.wsgi_app)  # type: ignore[method-assign]
    proxies = desk.config.web.trusted_proxies
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    for limited in (lookup.bp, my_requests.bp, portal.bp, console_auth.signin_bp):
        lookup.limit(
            limiter,
            limited,
            per_client=desk.config.web.lookup_per_client,
            per_address=desk.config.web.lookup_per_address,
        )
    actions.limit(
        limiter,
        per_ticket=desk.config.web.reply_per_ticket,
        per_client=desk.config.web.reply_per_client,
    )

    @app.context_processor
    def page_context() -> dict[str, Any]:
        return {
            "desk_name": desk.config.desk.name,
            "language": page_language(),
            "t": words(),
            "max_files": desk.config.web.max_files,
            "max_mb": desk.config.web.max_attachment_mb,
        }

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return error_page(400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if code not in _ERRORS:
            return error
        return error_page(code)

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def error_page(code: int, text_key: str | None = None) -> ResponseReturnValue:
    """The short page for `code`; `text_key` words it for a page whose case is its own."""
    title, text = _ERRORS[code]
    text = text_key or text
    t = words()
    body = render_template(
        "error.html.j2",
        title=t[title],
        text=t[text].format(
            files=desk_of_app().config.web.max_files, mb=desk_of_app().config.web.max_attachment_mb
        ),
    )
    return body, code, {"Cache-Control": "no-store"}
