"""The status page's forms: add a reply, confirm or reject a resolution, rate the service,
withdraw the request (a confirmation page first: one stray click must not close it).

A reply becomes a mail handed to `inbound.accept.accept`, so it threads and changes the
ticket exactly as a mail would. Confirm, reject and rate call the same resident
actions as mail does (`maildesk.tickets.resident`), each in one transaction, and
answer with a redirect to the page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from maildesk.context import Desk
from maildesk.domain import State, Via
from maildesk.errors import Refused
from maildesk.inbound.accept import accept
from maildesk.inbound.dispatch import PAGE_SOURCE
from maildesk.mime.filenames import guess_type, safe_filename
from maildesk.models import Ticket
from maildesk.outbound.mailer import thread_of
from maildesk.tickets import resident
from maildesk.tickets.actor import Actor
from maildesk.web import desk_of_app, words
from maildesk.web.status import find_or_404, render_page
from maildesk.web.webmail import Upload, build_reply

bp = Blueprint("actions", __name__)

MAX_TEXT = 20_000
MAX_COMMENT = 2_000


def _back(token: str) -> ResponseReturnValue:
    return redirect(url_for("status.ticket", token=token), code=303)


def content_type_of(filename: str) -> str:
    """The type from the name (never the browser's word); containers are opaque bytes."""
    guessed = guess_type(filename)
    if guessed.split("/")[0] in ("multipart", "message"):
        return "application/octet-stream"
    return guessed


def read_uploads(items: list[FileStorage], *, max_files: int, max_mb: int) -> list[Upload] | int:
    """The uploaded files, or the status that refuses them: 400 too many, 413 one too large."""
    chosen = [f for f in items if f.filename]
    if len(chosen) > max_files:
        return 400
    uploads = []
    for item in chosen:
        data = item.read(max_mb * 1024 * 1024 + 1)
        if len(data) > max_mb * 1024 * 1024:
            return 413
        name = safe_filename(item.filename or "", "adjunto")
        uploads.append(Upload(name, content_type_of(name), data))
    return uploads


def _ticket_key() -> str:
    return "ticket:" + str((request.view_args or {}).get("token", ""))


def limit(limiter: Limiter, *, per_ticket: str, per_client: str) -> None:
    """Rate-limit the page's posts (replies above all) per ticket and per client.

    Each reply stores its files and mails every staff member concerned, so an
    unlimited form would fill the disk (the database, its WAL and the outbox).
    """
    limiter.limit(per_client, methods=["POST"])(bp)
    limiter.limit(per_ticket, methods=["POST"], key_func=_ticket_key)(bp)


@bp.post("/t/<token>/responder")
def reply(token: str) -> ResponseReturnValue:
    desk = desk_of_app()
    t = words()
    text = request.form.get("text", "").replace("\r\n", "\n").strip()[:MAX_TEXT]
    limits = desk.config.web
    uploads = read_uploads(
        request.files.getlist("files"), max_files=limits.max_files, max_mb=limits.max_attachment_mb
    )
    if isinstance(uploads, int):
        # The page comes back with the text as typed: a redirect would lose it.
        problem = t["reply_too_many"].format(files=limits.max_files, mb=limits.max_attachment_mb)
        with desk.db.read_only() as session:
            found = find_or_404(session, desk, token)
            page = render_page(desk, found, token, draft=text, problem=problem)
        return page, uploads, {"Cache-Control": "no-store"}
    if not text and not uploads:
        flash(t["reply_empty"], "error")
        return _back(token)
    with desk.db.read_only() as session:
        found = find_or_404(session, desk, token)
        if found.purged_at is not None:
            # Nobody is left to write as: the page offers no form, a forged post gets this.
            flash(t["purged_no_reply"], "error")
            return _back(token)
        raw = build_reply(
            desk_address=desk.address,
            desk_domain=desk.domain,
            secret=desk.secret,
            tag_prefix=desk.config.desk.tag_prefix,
            number=found.number,
            subject=found.subject,
            foreign_tags=found.foreign_tags.splitlines(),
            requester_email=found.requester_email,
            requester_name=found.requester_name,
            thread=thread_of(session, found, public_only=True),
            text=text,
            uploads=uploads,
            now=desk.clock.now(),
        )
    accept(desk, raw, source=PAGE_SOURCE)
    flash(t["reply_done"], "ok")
    # A reply to a long-closed ticket opens a new one; this link still shows the old one.
    return _back(token)


def _act(
    token: str, action: Callable[[Session, Desk, Ticket, Actor], None], done: str
) -> ResponseReturnValue:
    """Carry out one resident action from the page; a refusal is shown, never a 500."""
    desk = desk_of_app()
    t = words()
    try:
        with desk.db.transaction() as session:
            found = find_or_404(session, desk, token)
            action(session, desk, found, Actor.resident(found.requester_email, Via.PAGE))
    except Refused as exc:
        if exc.code in t:
            flash(t[exc.code].format(rating=exc.detail), "error")
        return _back(token)
    flash(t[done], "ok")
    return _back(token)


@bp.post("/t/<token>/confirmar")
def confirm(token: str) -> ResponseReturnValue:
    now = desk_of_app().clock.now()
    return _act(
        token,
        lambda session, desk, ticket, actor: resident.confirm(
            session, desk, ticket, actor, now=now
        ),
        "confirmed",
    )


@bp.post("/t/<token>/rechazar")
def reject(token: str) -> ResponseReturnValue:
    now = desk_of_app().clock.now()
    reason = request.form.get("reason", "").replace("\r\n", "\n").strip()[:MAX_TEXT]
    return _act(
        token,
        lambda session, desk, ticket, actor: resident.reject(
            session, desk, ticket, actor, now=now, reason=reason
        ),
        "rejected",
    )


@bp.post("/t/<token>/calificar")
def rate(token: str) -> ResponseReturnValue:
    now = desk_of_app().clock.now()
    raw_rating = request.form.get("rating", "")
    rating = int(raw_rating) if raw_rating in ("1", "2", "3", "4", "5") else None
    comment = request.form.get("comment", "").replace("\r\n", "\n").strip()[:MAX_COMMENT]
    return _act(
        token,
        lambda session, desk, ticket, actor: resident.rate(
            session, desk, ticket, actor, rating=rating, comment=comment, now=now
        ),
        "rated",
    )


@bp.get("/t/<token>/retirar")
def withdraw_step(token: str) -> ResponseReturnValue:
    """The confirmation step; a closed request goes back to its page with a note."""
    desk = desk_of_app()
    with desk.db.read_only() as session:
        found = find_or_404(session, desk, token)
        if found.state == State.CERRADO.value:
            flash(words()["already_closed"], "error")
            return _back(token)
        page = render_template("withdraw.html.j2", ticket=found, token=token)
    return page, 200, {"Cache-Control": "no-store"}


@bp.post("/t/<token>/retirar")
def withdraw(token: str) -> ResponseReturnValue:
    now = desk_of_app().clock.now()
    return _act(
        token,
        lambda session, desk, ticket, actor: resident.withdraw(
            session, desk, ticket, actor, now=now
        ),
        "withdrawn",
    )
