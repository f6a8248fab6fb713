"""`/mis-solicitudes`: an address in, a signed link mailed out, the address's requests listed.

The form answers the same whatever was typed and is rate-limited like `/buscar` (the
same limits and keys, `lookup.limit`); the equal work is `tickets.my_requests`. The
mailed link carries the address and its expiry, signed (`signing.list_link_token`):
a link not signed by this install is refused (403), an expired one is gone (410).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from maildesk import signing
from maildesk.domain import STATE_WORDS
from maildesk.labels import progress_label
from maildesk.localtime import local_datetime
from maildesk.tickets import my_requests
from maildesk.web import desk_of_app, error_page, page_language
from maildesk.web.lookup import typed_address

bp = Blueprint("my_requests", __name__)

_NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/mis-solicitudes")
def form() -> ResponseReturnValue:
    return render_template("my_requests_form.html.j2")


@bp.post("/mis-solicitudes")
def send_link() -> ResponseReturnValue:
    desk = desk_of_app()
    email = typed_address(request.form.get("email", "")) or ""
    with desk.db.transaction() as session:
        my_requests.send_list_link(session, desk, email, desk.clock.now())
    return render_template("my_requests_sent.html.j2"), 200, _NO_STORE


@bp.get("/mis-solicitudes/<token>")
def listing(token: str) -> ResponseReturnValue:
    desk = desk_of_app()
    claim = signing.read_list_link(desk.secret, token)
    if claim is None:
        abort(403)
    email, until = claim
    if desk.clock.now() > until:
        return error_page(410, "list_gone")
    language, timezone = page_language(), desk.config.desk.timezone
    with desk.db.read_only() as session:
        rows = my_requests.requests_of(session, desk, email)
    shown = [
        {
            "number": r.number,
            "subject": r.subject,
            "building": r.building,
            "state": STATE_WORDS[language].get(r.state, r.state),
            "progress": progress_label(r.state, language),
            "updated": local_datetime(r.updated_at, timezone=timezone, language=language),
            "url": r.url,
        }
        for r in rows
    ]
    expires = local_datetime(until, timezone=timezone, language=language)
    return render_template("my_requests.html.j2", rows=shown, expires=expires), 200, _NO_STORE
