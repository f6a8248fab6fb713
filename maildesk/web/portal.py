"""`/nueva`: a resident types a request on the web; it opens when their mailed link is followed.

The page only translates: `tickets.web_requests` keeps the request and mails the link,
and opens the ticket when the link comes back. The answer to a good submission is the
same page for any address, and a refused one comes back with everything typed (but the
files, which a browser never sends back) and what was wrong.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import TooManyRequests

from maildesk.domain import Attachment as MailAttachment
from maildesk.errors import Refused
from maildesk.kb.suggest import suggest
from maildesk.models import Ticket
from maildesk.records import type_choices
from maildesk.tickets.opening import is_address
from maildesk.tickets.web_requests import confirm_web_request, pending_request, request_by_web
from maildesk.web import desk_of_app, page_language, words
from maildesk.web.actions import MAX_TEXT, read_uploads
from maildesk.web.lookup import typed_address
from maildesk.web.status import hours_now

bp = Blueprint("portal", __name__)

MAX_TITLE = 200
MAX_NAME = 200
NO_STORE = {"Cache-Control": "no-store"}


def _form(typed: dict[str, str], problem: str = "") -> str:
    desk = desk_of_app()
    return render_template(
        "new.html.j2",
        types=type_choices(desk.config, page_language()),
        typed=typed,
        problem=problem,
        **hours_now(desk),
    )


def _typed() -> dict[str, str]:
    """What the resident typed, bounded and with line breaks made plain."""
    form = request.form
    return {
        "type": form.get("type", "")[:64],
        "title": " ".join(form.get("title", "").split())[:MAX_TITLE],
        "text": form.get("text", "").replace("\r\n", "\n").strip()[:MAX_TEXT],
        "email": form.get("email", "").strip()[: 4 * 254],
        "name": " ".join(form.get("name", "").split())[:MAX_NAME],
    }


def _problem(typed: dict[str, str], email: str) -> str | None:
    """The key of the first thing wrong with the typed request, or None."""
    if not typed["title"] or not typed["text"]:
        return "new_missing"
    if not is_address(email):
        return "new_bad_email"
    types = desk_of_app().config.types
    if types and typed["type"] not in types:
        return "new_pick_type"
    return None


@bp.get("/nueva")
def form() -> ResponseReturnValue:
    return _form({}), 200, NO_STORE


@bp.post("/nueva")
def submit() -> ResponseReturnValue:
    desk = desk_of_app()
    t = words()
    typed = _typed()
    limits = desk.config.web
    uploads = read_uploads(
        request.files.getlist("files"), max_files=limits.max_files, max_mb=limits.max_attachment_mb
    )
    if isinstance(uploads, int):
        problem = t["reply_too_many"].format(files=limits.max_files, mb=limits.max_attachment_mb)
        return _form(typed, problem), uploads, NO_STORE
    email = typed_address(typed["email"]) or ""
    wrong = _problem(typed, email)
    if wrong is not None:
        return _form(typed, t[wrong]), 400, NO_STORE
    with desk.db.transaction() as session:
        found = suggest(
            session,
            desk.desk_id,
            desk.language,
            f"{typed['title']}\n{typed['text']}",
            base_url=desk.config.desk.base_url,
        )
        request_by_web(
            session,
            desk,
            email=email,
            name=typed["name"],
            kind=typed["type"],
            title=typed["title"],
            text=typed["text"],
            files=[MailAttachment(u.filename, u.content_type, u.data) for u in uploads],
            now=desk.clock.now(),
            suggestions_shown=len(found),
        )
    # The request opens only when the mailed link is followed: a resident whose answer is
    # among these can simply stop here.
    return render_template("new_sent.html.j2", suggestions=found), 200, NO_STORE


@bp.errorhandler(CSRFError)
@bp.errorhandler(TooManyRequests)
def refused(error: CSRFError | TooManyRequests) -> ResponseReturnValue:
    """A post refused before it was read (an expired form, too many tries) keeps its text."""
    key = "too_many" if isinstance(error, TooManyRequests) else "bad_request"
    return _form(_typed(), words()[key]), error.code or 400, NO_STORE


@bp.get("/nueva/confirmar/<token>")
def confirm_page(token: str) -> ResponseReturnValue:
    """The request as typed and one button: a GET opens nothing, since mail scanners
    follow every link in a mail before the resident does."""
    desk = desk_of_app()
    try:
        with desk.db.read_only() as session:
            pending = pending_request(session, desk, token, now=desk.clock.now())
            opened = (
                session.get(Ticket, pending.ticket_id) if pending and pending.ticket_id else None
            )
            status_token = opened.status_token if opened is not None else None
    except Refused:
        abort(410)
    if pending is None:
        abort(404)
    if status_token is not None:
        return redirect(url_for("status.ticket", token=status_token), code=303)
    return render_template("new_confirm.html.j2", pending=pending), 200, NO_STORE


@bp.post("/nueva/confirmar/<token>")
def confirm(token: str) -> ResponseReturnValue:
    """Open the request (once) and show its status page; 410 when too late, 404 when unknown."""
    desk = desk_of_app()
    try:
        with desk.db.transaction() as session:
            ticket = confirm_web_request(session, desk, token, now=desk.clock.now())
            status_token = ticket.status_token if ticket is not None else None
    except Refused:
        abort(410)
    if status_token is None:
        abort(404)
    return redirect(url_for("status.ticket", token=status_token), code=303)
