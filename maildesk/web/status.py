"""`/t/<token>`: a resident's ticket and its public attachments, everything escaped.

Only public messages are shown (never internal notes or staff notices), staff
appear by first name or team, never by address, and an attachment is served
only when it belongs to a public message of the ticket the token opens. The page also
says whether the desk is open right now (`sla.open_now`) and offers an open request's
withdrawal (`actions.withdraw_step`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    session,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from maildesk import signing
from maildesk.context import Desk
from maildesk.domain import STATE_WORDS, Direction, MessageKind, OutboxKind, State
from maildesk.labels import team_label
from maildesk.localtime import local_datetime
from maildesk.models import Attachment, Message, Ticket
from maildesk.sla.facts import sla_of
from maildesk.sla.open_now import open_now
from maildesk.sla.policy import FIRST_RESPONSE, RESOLUTION, office_hours
from maildesk.tickets.states import is_open
from maildesk.web import desk_of_app, page_cache, page_language, tokens, words

bp = Blueprint("status", __name__)

# Shown in the page; anything else (SVG above all) is only ever downloaded.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True, slots=True)
class FileLink:
    id: int
    filename: str
    size_kb: int


@dataclass(frozen=True, slots=True)
class Entry:
    at: str
    who: str
    mine: bool
    text: str
    files: list[FileLink] = field(default_factory=list)
    unverified: bool = False


def handler_name(desk: Desk, ticket: Ticket) -> str | None:
    """The assignee's first name when known, else the team: never an address."""
    if ticket.assignee:
        member = desk.config.staff_member(ticket.assignee)
        if member is not None and member.name.strip():
            return member.name.split()[0]
    return team_label(ticket.team, page_language()).capitalize() if ticket.team else None


def shown_text(message: Message, ticket: Ticket) -> str:
    """What the page shows of a message: automatic mails in a line, never the page's own link."""
    t = words()
    automatic = (OutboxKind.CONFIRMATION, OutboxKind.STATUS_LINK)
    if message.direction == Direction.OUTBOUND and message.kind in automatic:
        return str(t[f"sent_{message.kind}"])
    link = f"/t/{ticket.status_token}"
    return "\n".join(line for line in message.text.splitlines() if link not in line).strip()


def timeline(desk: Desk, ticket: Ticket) -> list[Entry]:
    """The public messages, oldest first, as the resident sees them."""
    t = words()
    public = sorted((m for m in ticket.messages if m.public), key=lambda m: (m.created_at, m.id))
    entries = []
    for m in public:
        inbound = m.direction == Direction.INBOUND
        mine = inbound and m.sender_email.lower() == ticket.requester_email.lower()
        who = t["you"] if mine else t["participant"] if inbound else desk.config.desk.name
        entries.append(
            Entry(
                at=local_datetime(
                    m.created_at, timezone=desk.config.desk.timezone, language=page_language()
                ),
                who=who,
                mine=mine,
                text=shown_text(m, ticket),
                files=[FileLink(a.id, a.filename, max(1, a.size // 1024)) for a in m.attachments],
                unverified=m.kind == MessageKind.UNVERIFIED,
            )
        )
    return entries


def find_or_404(session: Session, desk: Desk, token: str) -> Ticket:
    found = tokens.find(session, desk, token)
    if found is None:
        abort(404)
    return found


def expected_dates(desk: Desk, ticket: Ticket) -> list[tuple[str, str]]:
    """When the resident can expect an answer and a solution, or when they came."""
    t = words()
    found = sla_of(desk.config, ticket, desk.clock.now())
    rows = []
    for name, label, done_label, done_at in (
        (FIRST_RESPONSE, "first_answer_by", "answered", ticket.first_response_at),
        (RESOLUTION, "solution_by", "solved", ticket.resolved_at),
    ):
        moment = done_at or found[name].due_at
        if moment is not None:
            key = done_label if done_at else label
            rows.append(
                (
                    t[key],
                    local_datetime(
                        moment, timezone=desk.config.desk.timezone, language=page_language()
                    ),
                )
            )
    return rows


def hours_now(desk: Desk) -> dict[str, object]:
    """What `_open_now.html.j2` shows: open or closed now, the next opening in words."""
    found = open_now(desk.config, desk.clock.now())
    timezone, language = desk.config.desk.timezone, page_language()
    return {
        "open_now": found,
        "next_opening": local_datetime(found.next_opening, timezone=timezone, language=language)
        if found.next_opening
        else "",
    }


def render_page(
    desk: Desk,
    found: Ticket,
    token: str,
    *,
    draft: str = "",
    problem: str = "",
    csrf_mark: str | None = None,
) -> str:
    """The ticket's page; a refused reply comes back with its `draft` and the `problem`.

    With `csrf_mark`, the forms carry that mark instead of this viewer's CSRF token, so the
    page can be cached and the token written in when it is served.
    """
    viewer = {} if csrf_mark is None else {"csrf_token": lambda: csrf_mark}
    return render_template(
        "ticket.html.j2",
        **viewer,
        ticket=found,
        token=token,
        state=STATE_WORDS[page_language()].get(found.state, found.state),
        opened=local_datetime(
            found.opened_at, timezone=desk.config.desk.timezone, language=page_language()
        ),
        handler=handler_name(desk, found),
        expected=expected_dates(desk, found),
        hours=office_hours(desk.config, page_language()),
        entries=timeline(desk, found),
        in_validation=found.state == State.VALIDACION.value and found.purged_at is None,
        closed=found.state == State.CERRADO.value and found.purged_at is None,
        purged=local_datetime(
            found.purged_at, timezone=desk.config.desk.timezone, language=page_language()
        )
        if found.purged_at
        else "",
        draft=draft,
        problem=problem,
        **hours_now(desk),
        withdrawable=is_open(State(found.state)) and found.purged_at is None,
    )


def _loaded(session: Session, desk: Desk, ticket_id: int) -> Ticket:
    """The ticket with everything its page shows, in three statements, not one per message."""
    return session.scalars(
        select(Ticket)
        .where(Ticket.id == ticket_id, Ticket.desk_id == desk.desk_id)
        .options(
            selectinload(Ticket.messages).selectinload(Message.attachments),
            selectinload(Ticket.events),
        )
    ).one()


# Every answer of the page says so, whichever path served it (`fast_page` too).
PAGE_HEADERS = {"Cache-Control": "no-store"}


def pages_of(app: Flask) -> page_cache.PageCache:
    """The app's rendered pages, kept for the view and its fast path alike."""
    pages: page_cache.PageCache = app.extensions.setdefault(
        "maildesk.pages", page_cache.PageCache()
    )
    return pages


def page_key(desk: Desk, token: str, language: str, script_root: str) -> page_cache.Key:
    return (desk.desk_id, token, language, script_root)


def fresh_or_none(desk: Desk, token: str) -> page_cache.Fresh | None:
    """The stamp of the ticket `token` opens, or None: a malformed token costs no query,
    and the stored token is compared in constant time."""
    if not tokens.looks_like(token):
        return None
    fresh = page_cache.lookup(desk.db, desk.desk_id, token, desk.clock.now())
    if fresh is None or not signing.tokens_equal(fresh.status_token, token):
        return None
    return fresh


@bp.get("/t/<token>")
def ticket(token: str) -> ResponseReturnValue:
    """The page from the cache while its stamp holds (one SELECT), else rendered and kept.

    A cache hit is usually answered before Flask by `fast_page`, which ends here for
    everything else (a miss, a 404, a session to write).
    """
    desk = desk_of_app()
    fresh = fresh_or_none(desk, token)
    if fresh is None:
        abort(404)
    if "_flashes" in session:  # this viewer's notes: a page of their own, never kept
        with desk.db.read_only() as db_session:
            own = render_page(desk, _loaded(db_session, desk, fresh.ticket_id), token)
        return own, 200, PAGE_HEADERS
    pages = pages_of(current_app)
    key = page_key(desk, token, page_language(), request.script_root)
    page = pages.get(key, fresh.stamp)
    if page is None:
        with desk.db.read_only() as db_session:
            found = _loaded(db_session, desk, fresh.ticket_id)
            page = render_page(desk, found, token, csrf_mark=page_cache.CSRF_MARK)
        pages.put(key, fresh.stamp, page)
    return page_cache.with_csrf(page, generate_csrf()), 200, PAGE_HEADERS


@bp.get("/t/<token>/a/<int:attachment_id>")
def attachment(token: str, attachment_id: int) -> ResponseReturnValue:
    desk = desk_of_app()
    with desk.db.read_only() as session:
        found = find_or_404(session, desk, token)
        item = session.scalars(
            select(Attachment)
            .join(Message, Message.id == Attachment.message_id)
            .where(
                Attachment.id == attachment_id,
                Message.ticket_id == found.id,
                Message.public.is_(True),
            )
        ).first()
        if item is None:
            abort(404)
        filename, content_type, sha256 = item.filename, item.content_type.lower(), item.sha256
    try:
        data = desk.blobs.get(sha256)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        io.BytesIO(data),
        mimetype=content_type or "application/octet-stream",
        as_attachment=content_type not in INLINE_TYPES,
        download_name=filename or "adjunto",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
