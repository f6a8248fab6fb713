"""The console's board: which tickets a query string asks for, in SQL.

`Filters.parse` reads the query string (unknown values are dropped, never an error:
the board shows what it understood); `select_tickets` turns the filters into one
SELECT that the indexes of migration 0005 serve (desk and state, due time, assignee,
team); counting, paging and the downloads all run that same SELECT, so a download
holds exactly what the board shows, over every page. Nothing here loops over
tickets in Python: "overdue" is `ticket.due_at < now`, kept by `tickets.due`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_timedelta
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from maildesk.config import Config
from maildesk.directory.lookup import unit_name
from maildesk.domain import Channel, State
from maildesk.labels import category_label, priority_label, state_label, state_of, team_label
from maildesk.localtime import local_datetime
from maildesk.models import Message, Ticket, Unit

PAGE_SIZE = 50
NOBODY = "-"  # `assignee=-`: tickets nobody holds
OPEN, ALL = "open", "all"

_PRIORITY_RANK = {"alta": 0, "media": 1, "baja": 2}
# sort= values: the column and its direction.
SORTS: Mapping[str, str] = {
    "-opened": "sort_opened_desc",
    "opened": "sort_opened",
    "due": "sort_due",
    "-updated": "sort_updated_desc",
    "number": "sort_number",
    "priority": "sort_priority",
}


@dataclass(frozen=True, slots=True)
class Filters:
    """What the board was asked for, validated against the desk's names."""

    states: tuple[State, ...] = ()  # empty with scope OPEN: every state but closed
    scope: str = OPEN
    category: str = ""
    team: str = ""
    assignee: str = ""
    priority: str = ""
    channel: str = ""
    overdue: bool = False
    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "-opened"
    page: int = 1
    desk: str = ""  # a slug, for staff of several buildings

    @classmethod
    def parse(
        cls,
        args: Mapping[str, str],
        states: Sequence[str],
        config: Config,
        desks: Sequence[str] = (),
    ) -> Filters:
        chosen: list[State] = []
        scope = OPEN
        for word in states:
            if word in (OPEN, ALL):
                scope = word
            elif (state := state_of(word)) is not None and state not in chosen:
                chosen.append(state)

        def known(name: str, allowed: Sequence[str]) -> str:
            value = args.get(name, "").strip()
            return value if value in allowed else ""

        assignee = args.get("assignee", "").strip().lower()
        if assignee != NOBODY and config.staff_member(assignee) is None:
            assignee = ""
        page = args.get("page", "1")
        return cls(
            states=tuple(chosen),
            scope=ALL if chosen else scope,
            category=known("category", list(config.categories)),
            team=known("team", config.teams),
            assignee=assignee,
            priority=known("priority", list(config.priorities)),
            channel=known("channel", [*config.desk.channels, *(c for c in Channel)]),
            overdue=args.get("overdue", "") in ("1", "on", "true"),
            q=args.get("q", "").strip()[:200],
            date_from=_date(args.get("from", "")),
            date_to=_date(args.get("to", "")),
            sort=args.get("sort", "") if args.get("sort", "") in SORTS else "-opened",
            page=int(page) if page.isdigit() and 0 < len(page) < 7 else 1,
            desk=known("desk", desks),
        )

    def query_args(self, **changes: str | int) -> dict[str, str | list[str]]:
        """These filters as query-string arguments (for links to other pages and sorts)."""
        out: dict[str, str | list[str]] = {}
        if self.states:
            out["state"] = [s.value for s in self.states]
        elif self.scope == ALL:
            out["state"] = ALL
        for name in ("category", "team", "assignee", "priority", "channel", "q", "desk"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.overdue:
            out["overdue"] = "1"
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        if self.sort != "-opened":
            out["sort"] = self.sort
        out.update({k: str(v) for k, v in changes.items()})
        return out


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(
    filters: Filters,
    *,
    desk_ids: Mapping[str, int],
    timezone: str,
    now: datetime,
    with_state: bool = True,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of these filters (`with_state` False: for the counts per state).

    `desk_ids` are the desks the staff member serves, by slug; the `desk` filter picks one.
    """
    ids = [desk_ids[filters.desk]] if filters.desk in desk_ids else list(desk_ids.values())
    where: list[ColumnElement[bool]] = [Ticket.desk_id.in_(ids)]
    if with_state:
        if filters.states:
            where.append(Ticket.state.in_([s.value for s in filters.states]))
        elif filters.scope == OPEN:
            where.append(Ticket.state.in_([s.value for s in State if s is not State.CERRADO]))
    for name in ("category", "team", "priority", "channel"):
        value = getattr(filters, name)
        if value:
            where.append(getattr(Ticket, name) == value)
    if filters.assignee == NOBODY:
        where.append(Ticket.assignee.is_(None))
    elif filters.assignee:
        where.append(Ticket.assignee == filters.assignee)
    if filters.overdue:
        where.append(and_(Ticket.due_at.is_not(None), Ticket.due_at < now))
        where.append(Ticket.state != State.CERRADO.value)
    zone = ZoneInfo(timezone)
    if filters.date_from:
        where.append(Ticket.opened_at >= datetime.combine(filters.date_from, time(), zone))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time(), zone)
        where.append(Ticket.opened_at < end)
    if filters.q:
        where.append(_search(filters.q))
    return where


def _search(q: str) -> ColumnElement[bool]:
    """Number, subject, requester, unit (named in the text or the directory's: its
    number, label or tower), and the text of any message of the ticket."""
    pattern = _like(q)
    number = q.lstrip("#")
    matches = [
        func.lower(Ticket.subject).like(pattern, escape="\\"),
        func.lower(Ticket.requester_email).like(pattern, escape="\\"),
        func.lower(Ticket.requester_name).like(pattern, escape="\\"),
        func.lower(func.coalesce(Ticket.unit, "")).like(pattern, escape="\\"),
        exists().where(
            Unit.id == Ticket.unit_id,
            or_(
                func.lower(Unit.number).like(pattern, escape="\\"),
                func.lower(Unit.label).like(pattern, escape="\\"),
                func.lower(Unit.tower).like(pattern, escape="\\"),
            ),
        ),
        exists().where(
            Message.ticket_id == Ticket.id, func.lower(Message.text).like(pattern, escape="\\")
        ),
    ]
    if number.isdigit() and len(number) < 10:
        matches.insert(0, Ticket.number == int(number))
    return or_(*matches)


def _order(sort: str) -> list[Any]:
    rank = case(_PRIORITY_RANK, value=Ticket.priority, else_=len(_PRIORITY_RANK))
    orders: dict[str, list[Any]] = {
        "-opened": [Ticket.opened_at.desc(), Ticket.id.desc()],
        "opened": [Ticket.opened_at, Ticket.id],
        "due": [Ticket.due_at.is_(None), Ticket.due_at, Ticket.id],
        "-updated": [Ticket.updated_at.desc(), Ticket.id.desc()],
        "number": [Ticket.number],
        "priority": [rank, Ticket.opened_at.desc()],
    }
    return orders[sort]


def select_tickets(filters: Filters, where: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return (
        select(Ticket)
        .where(*where)
        .order_by(*_order(filters.sort))
        .options(selectinload(Ticket.directory_unit))
    )


def count(session: Session, where: Sequence[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0


def counts_by_state(session: Session, where: Sequence[ColumnElement[bool]]) -> dict[str, int]:
    """One indexed count per state: each reads only its own range of the state index, where
    a GROUP BY would read every ticket of the desk."""
    return {state.value: count(session, [*where, Ticket.state == state.value]) for state in State}


# --- what a row shows -------------------------------------------------------------


def due_words(
    due_at: datetime | None, state: str, now: datetime, words: Mapping[str, str], language: str
) -> tuple[str, str]:
    """("late"|"due"|"paused"|"", words) for the board's SLA column."""
    if state == State.CERRADO.value or (due_at is None and state == State.VALIDACION.value):
        return "", words["done"]
    if due_at is None:
        return "paused", words["paused"]
    left = format_timedelta(abs(due_at - now), granularity="minute", locale=language)
    if due_at < now:
        return "late", words["late_by"].format(left=left)
    return "due", words["due_in"].format(left=left)


COLUMNS = (
    "col_number",
    "col_subject",
    "col_state",
    "col_priority",
    "col_category",
    "col_team",
    "col_assignee",
    "col_requester",
    "col_unit",
    "col_channel",
    "col_opened",
    "col_due",
)


def export_row(
    ticket: Ticket, *, timezone: str, language: str, now: datetime, words: Mapping[str, str]
) -> list[str | int]:
    """One ticket as the downloads write it, in the desk's words."""
    return [
        ticket.number,
        ticket.subject,
        state_label(ticket.state, language),
        priority_label(ticket.priority, language),
        category_label(ticket.category, language),
        team_label(ticket.team, language) if ticket.team else "",
        ticket.assignee or "",
        ticket.requester_email or ticket.requester_name,
        unit_name(ticket.directory_unit) if ticket.directory_unit else ticket.unit or "",
        words.get(f"channel_{ticket.channel}", ticket.channel),
        local_datetime(ticket.opened_at, timezone=timezone, language=language),
        due_words(ticket.due_at, ticket.state, now, words, language)[1],
    ]


def as_csv(header: Sequence[str], rows: Iterator[Sequence[str | int]]) -> Iterator[str]:
    """CSV with a BOM, so spreadsheet programs read the accents as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()


def as_xlsx(header: Sequence[str], rows: Iterator[Sequence[str | int]]) -> bytes:
    """An Excel workbook of one sheet, written in openpyxl's streaming mode."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
