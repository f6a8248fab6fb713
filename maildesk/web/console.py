"""The staff console: the board, one ticket with a form per action, and the lobby.

Every page needs a signed-in staff member (`console_auth.require_member`). Every form
calls the same ticket action a staff mail command does (`tickets.staff.update`, or
`tickets.opening.open_for_resident` for the lobby) as an `Actor` coming `Via.CONSOLE`,
so rights, history and the mails that follow are decided in one place; a refusal
comes back as the page with a clear message (403 for rights, 400 otherwise).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from maildesk import signing
from maildesk.config import StaffConfig
from maildesk.context import Desk
from maildesk.directory import lookup as directory
from maildesk.domain import SUPERVISING, Attachment, Channel, Role, State, Via
from maildesk.errors import Refused
from maildesk.inbound.commands import PROBLEM_TEXT, Detail, explain
from maildesk.labels import category_label, priority_label, state_label, team_label
from maildesk.localtime import local_datetime
from maildesk.models import Attachment as StoredAttachment
from maildesk.models import Desk as DeskRow
from maildesk.models import Message, Ticket
from maildesk.records import cause_label, medium_choices, parse_day, type_choices, type_label
from maildesk.sla.facts import sla_of
from maildesk.tickets import staff
from maildesk.tickets.actor import Actor, may_change
from maildesk.tickets.opening import open_for_resident
from maildesk.web import board, desk_of_app, page_language
from maildesk.web.actions import MAX_TEXT, read_uploads
from maildesk.web.console_auth import console_words, require_member

bp = Blueprint("console", __name__)

_NO_STORE = {"Cache-Control": "no-store"}


@bp.before_request
def _signed_in() -> None:
    if not _signed_attachment_link():
        require_member()


def _signed_attachment_link() -> bool:
    """A notice's link to a file too large to attach opens that one file without a sign-in."""
    if request.endpoint != "console.attachment":
        return False
    args = request.view_args or {}
    signature = request.args.get("firma", "")
    return bool(signature) and signing.proves_attachment(
        desk_of_app().secret, int(args["number"]), int(args["attachment_id"]), signature
    )


@bp.context_processor
def console_context() -> dict[str, object]:
    """What every console page shows: its words, who is signed in, and their reach."""
    member = require_member()
    return {
        "c": console_words(),
        "member": member,
        "supervising": Role(member.role) in SUPERVISING,
    }


def _actor(member: StaffConfig) -> Actor:
    return Actor.staff(member, Via.CONSOLE)


def _local(desk: Desk, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return local_datetime(moment, timezone=desk.config.desk.timezone, language=page_language())


# --- the board --------------------------------------------------------------------


@cache
def _worded(kind: str, stored: tuple[str, ...], language: str) -> dict[str, str]:
    """Stored names -> the words people read, worked out once per process."""
    word = {
        "state": state_label,
        "priority": priority_label,
        "category": category_label,
        "team": team_label,
    }[kind]
    return {name: word(name, language) for name in stored}


def _names(desk: Desk, language: str) -> dict[str, dict[str, str]]:
    """The board's words for every state, priority, category and team of the desk."""
    config = desk.config
    return {
        "state": _worded("state", tuple(s.value for s in State), language),
        "priority": _worded("priority", tuple(config.priorities), language),
        "category": _worded("category", tuple(config.categories), language),
        "team": _worded("team", tuple(config.teams), language),
    }


@dataclass(frozen=True, slots=True)
class Row:
    ticket: Ticket
    opened: str
    due_mark: str
    due_text: str
    desk: str = ""  # the building's name, when the board shows several
    link: str = ""  # the ticket's console page (another building's is on its own host)


@dataclass(frozen=True, slots=True)
class Served:
    """A building the signed-in staff member serves, as the board lists it."""

    desk_id: int
    name: str
    ticket_base: str  # its console's ticket URL without the number


def _served(desk: Desk, member: StaffConfig) -> dict[str, Served]:
    """This desk and the install's other buildings that list `member` as staff, by slug."""
    served = {desk.slug: Served(desk.desk_id, desk.config.desk.name, "")}
    others = [c for c in desk.neighbours if c.staff_member(member.email) is not None]
    if others:
        with desk.db.read_only() as session:
            ids = {
                slug: row_id
                for slug, row_id in session.execute(
                    select(DeskRow.slug, DeskRow.id).where(
                        DeskRow.slug.in_([c.desk.slug for c in others])
                    )
                )
            }
        for config in others:
            if config.desk.slug in ids:
                served[config.desk.slug] = Served(
                    ids[config.desk.slug],
                    config.desk.name,
                    config.desk.base_url.rstrip("/") + "/staff/t/",
                )
    return served


@bp.get("/staff/tickets")
def board_page() -> ResponseReturnValue:
    desk, language, words = desk_of_app(), page_language(), console_words()
    now = desk.clock.now()
    served = _served(desk, require_member())
    filters = board.Filters.parse(
        request.args, request.args.getlist("state"), desk.config, list(served)
    )
    desk_ids = {slug: s.desk_id for slug, s in served.items()}
    by_id = {s.desk_id: s for s in served.values()}
    timezone = desk.config.desk.timezone
    where = board.conditions(filters, desk_ids=desk_ids, timezone=timezone, now=now)
    wanted = request.args.get("format", "")
    if wanted in ("csv", "xlsx"):
        buildings = {s.desk_id: s.name for s in served.values()} if len(served) > 1 else {}
        return _download(desk, filters, where, wanted, buildings)
    with desk.db.read_only() as session:
        total = board.count(session, where)
        pages = max(1, math.ceil(total / board.PAGE_SIZE))
        page = min(filters.page, pages)
        found = session.scalars(
            board.select_tickets(filters, where)
            .limit(board.PAGE_SIZE)
            .offset((page - 1) * board.PAGE_SIZE)
        ).all()
        without_state = board.conditions(
            filters, desk_ids=desk_ids, timezone=timezone, now=now, with_state=False
        )
        counts = board.counts_by_state(session, without_state)
    zone = ZoneInfo(timezone)
    ticket_base = url_for("console.ticket_page", number=0)[:-1]
    rows = [
        Row(
            t,
            t.opened_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            *board.due_words(t.due_at, t.state, now, words, language),
            desk=by_id[t.desk_id].name,
            link=f"{by_id[t.desk_id].ticket_base or ticket_base}{t.number}",
        )
        for t in found
    ]
    return (
        render_template(
            "console/board.html.j2",
            rows=rows,
            filters=filters,
            total=total,
            page=page,
            pages=pages,
            names=_names(desk, language),
            counts=[(s.value, counts.get(s.value, 0)) for s in State],
            sorts=board.SORTS,
            config=desk.config,
            channels=list(dict.fromkeys([*desk.config.desk.channels, *(c.value for c in Channel)])),
            staff_list=desk.config.staff,
            served={slug: s.name for slug, s in served.items()} if len(served) > 1 else {},
        ),
        200,
        _NO_STORE,
    )


def _download(
    desk: Desk,
    filters: board.Filters,
    where: Sequence[ColumnElement[bool]],
    wanted: str,
    buildings: Mapping[int, str],
) -> ResponseReturnValue:
    """The board as CSV or XLSX; led by the building's name for staff of several."""
    language, words = page_language(), console_words()
    now = desk.clock.now()
    header = [words["col_desk"]] * bool(buildings) + [words[c] for c in board.COLUMNS]
    query = board.select_tickets(filters, where).execution_options(yield_per=500)

    def rows() -> Iterator[list[str | int]]:
        with desk.db.read_only() as session:
            for ticket in session.scalars(query):
                row = board.export_row(
                    ticket,
                    timezone=desk.config.desk.timezone,
                    language=language,
                    now=now,
                    words=words,
                )
                yield [buildings[ticket.desk_id], *row] if buildings else row

    stamp = now.strftime("%Y%m%d-%H%M")
    if wanted == "csv":
        return Response(
            stream_with_context(board.as_csv(header, rows())),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="tickets-{stamp}.csv"',
                **_NO_STORE,
            },
        )
    return send_file(
        io.BytesIO(board.as_xlsx(header, rows())),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"tickets-{stamp}.xlsx",
        max_age=0,
    )


# --- one ticket -------------------------------------------------------------------


def _find(session: Session, desk: Desk, number: int) -> Ticket:
    found = session.scalars(
        select(Ticket)
        .where(Ticket.desk_id == desk.desk_id, Ticket.number == number)
        .options(
            selectinload(Ticket.messages).selectinload(Message.attachments),
            selectinload(Ticket.events),
            selectinload(Ticket.participants),
        )
    ).first()
    if found is None:
        abort(404)
    return found


def _events(desk: Desk, ticket: Ticket) -> list[tuple[str, str, str, str]]:
    rows = []
    for event in ticket.events:
        try:
            detail = json.loads(event.detail) if event.detail else {}
        except ValueError:
            detail = {}
        shown = ", ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, ""))
        rows.append((_local(desk, event.at), event.actor, event.kind, shown))
    return rows


def _sla(desk: Desk, ticket: Ticket) -> list[tuple[str, str, str]]:
    words = console_words()
    rows = []
    for name, status in sla_of(desk.config, ticket, desk.clock.now()).items():
        if status.met is not None:
            mark = "met" if status.met else "missed"
        elif status.breached:
            mark = "late"
        else:
            mark = "due" if status.due_at is not None else "paused"
        rows.append((words[name], mark, _local(desk, status.due_at)))
    return rows


def render_ticket(number: int, *, problem: str = "", code: int = 200) -> ResponseReturnValue:
    desk = desk_of_app()
    member = require_member()
    with desk.db.read_only() as session:
        ticket = _find(session, desk, number)
        body = render_template(
            "console/ticket.html.j2",
            ticket=ticket,
            messages=[(m, _local(desk, m.created_at)) for m in ticket.messages],
            events=_events(desk, ticket),
            sla=_sla(desk, ticket),
            opened=_local(desk, ticket.opened_at),
            may_change=may_change(_actor(member), ticket),
            config=desk.config,
            problem=problem,
            state_words=state_label(ticket.state, page_language()),
            units=directory.shown_units(ticket),
            type_words=type_label(desk.config, ticket.type, page_language()),
            cause_words=cause_label(desk.config, ticket.cause),
            types=type_choices(desk.config, page_language()),
            causes=desk.config.causes,
        )
    return body, code, _NO_STORE


@bp.get("/staff/t/<int:number>")
def ticket_page(number: int) -> ResponseReturnValue:
    return render_ticket(number)


@bp.get("/staff/t/<int:number>/adjunto/<int:attachment_id>")
def attachment(number: int, attachment_id: int) -> ResponseReturnValue:
    desk = desk_of_app()
    with desk.db.read_only() as session:
        found = session.scalars(
            select(StoredAttachment)
            .join(Message, Message.id == StoredAttachment.message_id)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                StoredAttachment.id == attachment_id,
                Ticket.number == number,
                Ticket.desk_id == desk.desk_id,
            )
        ).first()
        if found is None:
            abort(404)
        data, name = desk.blobs.get(found.sha256), found.filename
    return send_file(
        io.BytesIO(data),
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=name,
        max_age=0,
    )


def _text(name: str) -> str:
    return request.form.get(name, "").replace("\r\n", "\n").strip()[:MAX_TEXT]


def _files() -> list[Attachment] | int:
    limits = desk_of_app().config.web
    uploads = read_uploads(
        request.files.getlist("files"),
        max_files=limits.max_files,
        max_mb=limits.max_attachment_mb,
    )
    if isinstance(uploads, int):
        return uploads
    return [Attachment(u.filename, u.content_type, u.data) for u in uploads]


def _answer(change: staff.StaffUpdate) -> None:
    files = _files()
    if isinstance(files, int):
        raise Refused("too_many_files", "")
    change.answer(_text("text"), files)


def _note(change: staff.StaffUpdate) -> None:
    files = _files()
    if isinstance(files, int):
        raise Refused("too_many_files", "")
    change.note(_text("text"), files)


def _day(name: str) -> date | None:
    text = _text(name)
    if not text:
        return None
    try:
        return parse_day(text)
    except ValueError:
        raise Refused("bad_date", text) from None


def _records(change: staff.StaffUpdate) -> None:
    """The type, the start date, the deadline and the final cause, as one form."""
    change.set_type(_text("type"))
    change.set_starts_on(_day("starts_on"))
    change.set_deadline(_day("deadline"))
    change.set_cause(_text("cause"))


def _closing(change: staff.StaffUpdate) -> None:
    """What the resolve and close forms carry besides the note: a cause and evidence files
    (kept as an internal note of the closing), checked by the closing rules."""
    if _text("cause"):
        change.set_cause(_text("cause"))
    files = _files()
    if isinstance(files, int):
        raise Refused("too_many_files", "")
    if files:
        change.note(_text("note"), files)


def _resolve(change: staff.StaffUpdate) -> None:
    _closing(change)
    change.resolve(_text("note"))


def _close(change: staff.StaffUpdate) -> None:
    _closing(change)
    change.close(_text("note"), success=request.form.get("outcome") != "failure")


# One form per staff command: the form's fields become the action's arguments.
ACTIONS: dict[str, Callable[[staff.StaffUpdate], None]] = {
    "answer": _answer,
    "note": _note,
    "take": lambda c: c.take(),
    "assign": lambda c: c.assign(_text("to"), _text("note")),
    "priority": lambda c: c.set_priority(_text("value")),
    "category": lambda c: c.set_category(_text("value")),
    "unit": lambda c: c.set_unit(_text("value")),
    "wait": lambda c: c.wait(_text("note")),
    "resolve": _resolve,
    "close": _close,
    "records": _records,
    "reopen": lambda c: c.reopen(_text("note")),
    "vendor": lambda c: c.ask_vendor(_text("address"), _text("message")),
    "kb": lambda c: c.add_to_kb(),
}


def refusal_text(refused: Refused) -> str:
    problems = PROBLEM_TEXT[page_language()]
    words = console_words()
    if refused.code == "too_many_files":
        limits = desk_of_app().config.web
        return words["files"].format(files=limits.max_files, mb=limits.max_attachment_mb)
    why = problems.get(refused.code, refused.code)
    if refused.code == "unknown_unit":
        close = tuple(refused.detail.splitlines())
        detail = Detail("not_unit" if close else "no_unit_like", _text("value"), close)
        why = f"{why}: {explain(detail, page_language())}"
    return words["refused"].format(why=why)


@bp.post("/staff/t/<int:number>/<action>")
def act(number: int, action: str) -> ResponseReturnValue:
    desk = desk_of_app()
    do = ACTIONS.get(action)
    if do is None:
        abort(404)
    actor = _actor(require_member())
    try:
        with desk.db.transaction() as session:
            ticket = _find(session, desk, number)
            with staff.update(session, desk, ticket, actor, desk.clock.now()) as change:
                do(change)
    except Refused as refused:
        return render_ticket(
            number, problem=refusal_text(refused), code=403 if refused.code == "forbidden" else 400
        )
    flash(console_words()["done_ok"].format(what=console_words()[_LABEL[action]]))
    return redirect(url_for("console.ticket_page", number=number), code=303)


_LABEL = {
    "answer": "answer",
    "note": "note",
    "take": "take",
    "assign": "assign",
    "priority": "set_priority",
    "category": "set_category",
    "unit": "set_unit",
    "wait": "wait",
    "resolve": "resolve",
    "close": "close",
    "reopen": "reopen",
    "vendor": "vendor",
    "records": "records",
    "kb": "kb_add",
}


# --- the lobby --------------------------------------------------------------------


def _lobby(form: dict[str, str], problem: str = "", code: int = 200) -> ResponseReturnValue:
    desk = desk_of_app()
    return (
        render_template(
            "console/new.html.j2",
            form=form,
            problem=problem,
            config=desk.config,
            channels=[
                (name, words)
                for name, words in medium_choices(desk.config, page_language())
                if name not in (Channel.EMAIL, Channel.WEB)
            ],
            types=type_choices(desk.config, page_language()),
        ),
        code,
        _NO_STORE,
    )


@bp.get("/staff/nuevo")
def new_form() -> ResponseReturnValue:
    return _lobby({"channel": Channel.PHONE.value})


@bp.post("/staff/nuevo")
def new_ticket() -> ResponseReturnValue:
    desk, words = desk_of_app(), console_words()
    names = ("email", "name", "unit", "subject", "text", "category", "priority", "channel", "type")
    form = {name: _text(name) for name in names}
    if not form["email"] and not form["name"]:
        return _lobby(form, words["n_need_contact"], 400)
    if not form["subject"]:
        return _lobby(form, words["n_need_subject"], 400)
    channel = form["channel"] or Channel.PHONE.value
    files = _files()
    if isinstance(files, int):
        return _lobby(form, refusal_text(Refused("too_many_files", "")), 400)
    actor = _actor(require_member())
    try:
        with desk.db.transaction() as session:
            ticket = open_for_resident(
                session,
                desk,
                actor,
                requester=form["email"],
                name=form["name"],
                subject=form["subject"],
                text=form["text"],
                channel=channel,
                now=desk.clock.now(),
                attachments=files,
                category=form["category"],
                priority=form["priority"],
                unit=form["unit"],
                kind=form["type"],
            )
            number = ticket.number
    except Refused as refused:
        text = words["n_bad_email"] if refused.code == "bad_address" else refusal_text(refused)
        return _lobby(form, text, 403 if refused.code == "forbidden" else 400)
    flash(words["n_opened"].format(number=number))
    return redirect(url_for("console.ticket_page", number=number), code=303)
