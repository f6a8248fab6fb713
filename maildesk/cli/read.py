"""Read-side views for the CLI: ticket lists, one ticket, and queues.

`ticket_detail` is the documented `ticket show --format json` schema; scripts and
monitoring depend on its keys, so add keys freely but never rename them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from maildesk import labels
from maildesk.config import Duration
from maildesk.context import Desk
from maildesk.directory.keys import shown
from maildesk.directory.lookup import unit_name
from maildesk.models import Inbound, Message, Outbox, Ticket, Unit
from maildesk.sla.facts import sla_of

# C0 and C1 controls and DEL: in a subject, name or body they are terminal escapes
# (colours, cursor moves, a rewritten title bar), never text an operator should run.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, *, lines: bool = False) -> str:
    """`text` safe for a terminal: each control character written as `\\xNN`.

    With `lines`, newlines and tabs stay (a message's text). JSON output needs none
    of this: its encoder escapes controls already.
    """
    pattern = _CONTROLS_BUT_LINES if lines else _CONTROLS
    return pattern.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def duration_text(value: Duration | None) -> str:
    """A configured duration as written: "5bd", "8h"; "" for none."""
    if value is None:
        return ""
    unit, size = next(
        (u, n) for u, n in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)) if not value.seconds % n
    )
    return f"{value.seconds // size}{'b' if value.business else ''}{unit}"


class BadFilter(ValueError):
    """A `ticket list` filter that names nothing; the message says what would be valid."""


def state_filter(text: str, language: str) -> str:
    """The stored state a person's word names ("En progreso", "in progress", "en_progreso")."""
    state = labels.state_of(text)
    if state is None:
        valid = ", ".join(labels.state_labels(language))
        raise BadFilter(f"--state: {text!r} is not a state; use one of: {valid}")
    return state.value


def date_filter(option: str, text: str) -> datetime:
    """Midnight UTC of a YYYY-MM-DD date."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"{option}: {text!r} is not a date; write it as YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# The fields of a ticket that `ticket list` and `ticket show` give, in their order; read
# from a Ticket or from a row of `ticket_rows`'s SELECT, which has the same names.
_SUMMARY = (
    ("number", "number"),
    ("subject", "subject"),
    ("state", "state"),
    ("priority", "priority"),
    ("category", "category"),
    ("channel", "channel"),
    ("requester", "requester_email"),
    ("requester_name", "requester_name"),
    ("assignee", "assignee"),
    ("team", "team"),
    ("unit", "unit"),
    ("directory_unit", None),
    ("requester_relation", "requester_relation"),
    ("type", "type"),
    ("starts_on", "starts_on"),
    ("deadline", "deadline"),
    ("cause", "cause"),
    ("opened_at", "opened_at"),
    ("first_response_at", "first_response_at"),
    ("resolved_at", "resolved_at"),
    ("closed_at", "closed_at"),
    ("updated_at", "updated_at"),
    ("purged_at", "purged_at"),
)


def _summary(source: Any, directory_unit: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in _SUMMARY:
        value = directory_unit if name is None else getattr(source, name)
        out[key] = _iso(value) if isinstance(value, date) else value
    return out


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    unit = ticket.directory_unit
    return _summary(ticket, unit_name(unit) if unit is not None else None)


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What `ticket list` asked for, already read: a stored state and UTC datetimes."""

    state: str | None = None
    assignee: str | None = None
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def ticket_filter(
    language: str,
    *,
    state: str | None = None,
    assignee: str | None = None,
    category: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> TicketFilter:
    """Read the filters as people write them; `BadFilter` when one names nothing."""
    return TicketFilter(
        state=state_filter(state, language) if state else None,
        assignee=assignee.lower() if assignee else None,
        category=category or None,
        since=date_filter("--since", since) if since else None,
        until=date_filter("--until", until) if until else None,
    )


def _matching(desk: Desk, wanted: TicketFilter) -> list[ColumnElement[bool]]:
    where = [Ticket.desk_id == desk.desk_id]
    if wanted.state:
        where.append(Ticket.state == wanted.state)
    if wanted.assignee:
        where.append(Ticket.assignee == wanted.assignee)
    if wanted.category:
        where.append(Ticket.category == wanted.category)
    if wanted.since is not None:
        where.append(Ticket.opened_at >= wanted.since)
    if wanted.until is not None:
        where.append(Ticket.opened_at < wanted.until)
    return where


def ticket_rows(
    desk: Desk,
    wanted: TicketFilter,
    *,
    limit: int | None = None,
    below: int | None = None,
    skip: int = 0,
) -> Iterator[dict[str, Any]]:
    """Tickets matching `wanted`, newest first, streamed from one SELECT of the listed
    columns (no ticket objects), so memory stays flat on any desk. `below` is keyset
    paging: only tickets numbered below it; `skip` drops the first ones (a page)."""
    names = [getattr(Ticket, name) for _key, name in _SUMMARY if name is not None]
    query = (
        select(
            *names,
            Unit.tower.label("unit_tower"),
            Unit.number.label("unit_number"),
            Unit.label.label("unit_label"),
        )
        .outerjoin(Unit, Unit.id == Ticket.unit_id)
        .where(*_matching(desk, wanted))
        .order_by(Ticket.number.desc())
        .offset(skip or None)
        .limit(limit)
    )
    if below is not None:
        query = query.where(Ticket.number < below)
    with desk.db.read_only() as session:
        for row in session.execute(query.execution_options(yield_per=500)):
            unit = (
                shown(row.unit_tower, row.unit_number, row.unit_label)
                if row.unit_tower is not None
                else None
            )
            yield _summary(row, unit)


# Tickets a `ticket list` table shows at once.
PAGE = 50


def page_footer(before: int, shown: int, total: int, following: str) -> str:
    """ "showing 51–100 of 1,234; next: --page 3": where a page of a list sits (pure)."""
    line = f"showing {before + 1:,}–{before + shown:,} of {total:,}"
    return line + (f"; next: {following}" if before + shown < total else "")


def ticket_count(desk: Desk, wanted: TicketFilter, *, at_or_above: int | None = None) -> int:
    """How many tickets match `wanted` (numbered `at_or_above` or more, when given)."""
    query = select(func.count()).select_from(Ticket).where(*_matching(desk, wanted))
    if at_or_above is not None:
        query = query.where(Ticket.number >= at_or_above)
    with desk.db.read_only() as session:
        return session.scalar(query) or 0


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "kind": message.kind,
        "public": message.public,
        "sender": message.sender_email,
        "sender_name": message.sender_name,
        "recipients": [r for r in message.recipients.split(", ") if r],
        "message_id": message.mid,
        "subject": message.subject,
        "at": _iso(message.created_at),
        "text": message.text,
        "defects": [d for d in message.defects.split("\n") if d],
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "inline": a.inline,
            }
            for a in message.attachments
        ],
    }


def load_ticket(session: Session, desk: Desk, number: int) -> Ticket | None:
    return session.scalars(
        select(Ticket).where(Ticket.desk_id == desk.desk_id, Ticket.number == number)
    ).first()


def ticket_detail(desk: Desk, number: int) -> dict[str, Any] | None:
    with desk.db.read_only() as session:
        ticket = load_ticket(session, desk, number)
        if ticket is None:
            return None
        return {
            **ticket_summary(ticket),
            "status_url": desk.status_url(ticket.status_token),
            "sla": {
                name: {
                    "due_at": _iso(status.due_at),
                    "met": status.met,
                    "breached": status.breached,
                    "elapsed_seconds": round(status.elapsed),
                    "remaining_seconds": round(status.remaining),
                }
                for name, status in sla_of(desk.config, ticket, desk.clock.now()).items()
            },
            "participants": [
                {"email": p.email, "name": p.name, "role": p.role, "bouncing": p.bouncing}
                for p in ticket.participants
            ],
            "messages": [_message(m) for m in ticket.messages],
            "events": [
                {
                    "at": _iso(e.at),
                    "actor": e.actor,
                    "kind": e.kind,
                    "detail": json.loads(e.detail) if e.detail else {},
                }
                for e in ticket.events
            ],
        }


def worded(row: dict[str, Any], language: str) -> dict[str, Any]:
    """A ticket row with its stored names in the desk's words, for people (JSON keeps names)."""
    words = {
        "state": labels.state_label,
        "priority": labels.priority_label,
        "category": labels.category_label,
        "team": labels.team_label,
        "unit": labels.unit_label,
        "directory_unit": labels.unit_label,
        "requester_relation": labels.relation_label,
    }
    return {
        name: words[name](value, language) if name in words and value else value
        for name, value in row.items()
    }


def ticket_text(data: dict[str, Any], language: str) -> str:
    data = worded(data, language)
    lines = [
        f"#{data['number']} {data['subject']}",
        f"  state {data['state']} · priority {data['priority']} · category {data['category']}"
        f" · channel {data['channel']}",
        f"  requester {data['requester_name']} <{data['requester']}>"
        f" · assignee {data['assignee'] or '-'}",
        f"  unit {data['directory_unit'] or '-'}"
        + (f" ({data['requester_relation']})" if data["requester_relation"] else "")
        + (f" · named in the text: {data['unit']}" if data["unit"] else ""),
        f"  type {data['type'] or '-'} · start {data['starts_on'] or '-'}"
        f" · deadline {data['deadline'] or '-'} · final cause {data['cause'] or '-'}",
        f"  opened {data['opened_at']} · status page {data['status_url']}",
        *(
            f"  bouncing: {p['email']} (the relay refuses it; nothing more is sent to it)"
            for p in data["participants"]
            if p["bouncing"]
        ),
        *(
            f"  {name.replace('_', ' ')}: "
            + (
                "met"
                if s["met"]
                else "missed"
                if s["met"] is False
                else f"due {s['due_at']}" + (" (BROKEN)" if s["breached"] else "")
            )
            for name, s in data["sla"].items()
        ),
        "",
    ]
    for m in data["messages"]:
        visibility = "" if m["public"] else " [internal]"
        lines.append(f"--- {m['at']} {m['direction']} {m['kind']}{visibility} from {m['sender']}")
        lines.append(m["text"].rstrip())
        lines.extend(
            f"    [attachment] {a['filename']} ({a['content_type']}, {a['size']} bytes)"
            for a in m["attachments"]
        )
        lines.append("")
    lines.append("history:")
    lines.extend(
        f"  {e['at']} {e['actor']} {e['kind']} "
        f"{json.dumps(e['detail'], ensure_ascii=False) if e['detail'] else ''}".rstrip()
        for e in data["events"]
    )
    return printable("\n".join(lines), lines=True)


def inbound_rows(desk: Desk, *, status: str) -> list[dict[str, Any]]:
    with desk.db.read_only() as session:
        rows = session.scalars(
            select(Inbound)
            .where(Inbound.desk_id == desk.desk_id, Inbound.status == status)
            .order_by(Inbound.id)
        )
        return [
            {
                "id": r.id,
                "source": r.source,
                "received_at": _iso(r.received_at),
                "size": r.size,
                "attempts": r.attempts,
                "kind": r.verdict,
                "reason": r.reason or r.last_error,
                "retry": f"maildesk ingest --retry {r.id}",
            }
            for r in rows
        ]


def outbox_rows(desk: Desk, *, status: str | None) -> list[dict[str, Any]]:
    query = select(Outbox).where(Outbox.desk_id == desk.desk_id)
    if status:
        query = query.where(Outbox.status == status)
    with desk.db.read_only() as session:
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "recipient": r.recipient,
                "status": r.status,
                "attempts": r.attempts,
                "next_attempt_at": _iso(r.next_attempt_at),
                "last_error": r.last_error,
            }
            for r in session.scalars(query.order_by(Outbox.id))
        ]


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain text table of the first columns that fit a terminal."""
    if not rows:
        return "(none)"
    columns = list(
        columns
        or [
            c
            for c in rows[0]
            if c
            not in (
                "requester_name",
                "updated_at",
                "first_response_at",
                "resolved_at",
                "closed_at",
                "team",
                "unit",
                "directory_unit",
                "requester_relation",
                "type",
                "starts_on",
                "deadline",
                "cause",
            )
        ]
    )
    cells = [
        [printable("" if row.get(c) is None else str(row.get(c)))[:48] for c in columns]
        for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in out)


def startup_banner(desks: Sequence[Desk], parts: Sequence[str]) -> str:
    desk = desks[0]
    cfg = desk.config
    lines = [
        f"maildesk is running ({', '.join(parts)}) with {cfg.source}; database {cfg.database_url}"
    ]
    if len(desks) > 1:
        lines.append("desks: " + ", ".join(f"{d.slug} <{d.address}>" for d in desks))
    if cfg.listener is not None and "listener" in parts:
        host, _, port = cfg.listener.listen.rpartition(":")
        lines.append(
            'send a first mail: python3 -c "import smtplib; '
            f"smtplib.SMTP('{host}', {port}).sendmail('vecina@example.org', '{desk.address}', "
            "'Subject: Fuga de agua\\n\\nHay una fuga en el depto 402.')\""
        )
    if not cfg.smtp.host:
        lines.append(f"outbound mail is written to {desk.outbox_dir} (no [smtp] relay configured)")
    if "web" in parts:
        lines.append(f"status page: http://{cfg.web.listen}/ ; tickets: maildesk ticket list")
    return "\n  ".join(lines)
