"""The managers' digest and the overdue alerts: figures (pure) and the mails that carry them.

`figures` computes a period's numbers from plain ticket facts, so they can be
checked by hand; `send_digest` and `send_alerts` read the tickets, compute, and
queue one mail per recipient.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from maildesk.config import StaffConfig
from maildesk.context import Desk
from maildesk.domain import STATE_WORDS, OutboxKind, State
from maildesk.models import Ticket
from maildesk.outbound.mailer import queue_mail
from maildesk.sla.clock import Status
from maildesk.sla.facts import sla_of
from maildesk.sla.policy import FIRST_RESPONSE, RESOLUTION

WORST = 5
DIGEST_ROLES = ("manager", "director")


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """One ticket as the digest sees it (times aware, UTC)."""

    number: int
    subject: str
    state: str
    opened_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    resolved_at: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    overdue_seconds: float
    assignee: str | None
    team: str | None


@dataclass(frozen=True, slots=True)
class Figures:
    new: int
    closed: int
    backlog: dict[str, int]
    first_response_median_h: float | None
    resolution_median_h: float | None
    within_sla_pct: float | None  # of tickets closed in the period, both targets met
    overdue: list[TicketFacts]
    worst_waiting: list[TicketFacts]


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def figures(tickets: Sequence[TicketFacts], *, start: datetime, end: datetime) -> Figures:
    """A period's numbers: what came in, what was closed, and what waits now."""
    opened = [t for t in tickets if start <= t.opened_at < end]
    closed = [t for t in tickets if t.closed_at is not None and start <= t.closed_at < end]
    answered = [
        t for t in tickets if t.first_response_at is not None and start <= t.first_response_at < end
    ]
    open_now = [t for t in tickets if t.state != State.CERRADO.value]
    first = [_hours(t.opened_at, t.first_response_at) for t in answered if t.first_response_at]
    resolved = [_hours(t.opened_at, done) for t in closed if (done := t.resolved_at or t.closed_at)]
    within = [t for t in closed if not t.first_response_breached and not t.resolution_breached]
    overdue = sorted(
        (t for t in open_now if t.first_response_breached or t.resolution_breached),
        key=lambda t: -t.overdue_seconds,
    )
    return Figures(
        new=len(opened),
        closed=len(closed),
        backlog=dict(Counter(t.state for t in open_now)),
        first_response_median_h=round(statistics.median(first), 2) if first else None,
        resolution_median_h=round(statistics.median(resolved), 2) if resolved else None,
        within_sla_pct=round(100 * len(within) / len(closed), 1) if closed else None,
        overdue=overdue,
        worst_waiting=sorted(open_now, key=lambda t: t.opened_at)[:WORST],
    )


def _late(status: Status) -> float:
    """Seconds past a target that is broken and still unmet, else 0."""
    return -status.remaining if status.breached and status.met is None else 0.0


def ticket_facts(desk: Desk, tickets: Sequence[Ticket], now: datetime) -> list[TicketFacts]:
    out = []
    for ticket in tickets:
        found = sla_of(desk.config, ticket, now)
        first, resolution = found[FIRST_RESPONSE], found[RESOLUTION]
        out.append(
            TicketFacts(
                number=ticket.number,
                subject=ticket.subject,
                state=ticket.state,
                opened_at=ticket.opened_at,
                first_response_at=ticket.first_response_at,
                closed_at=ticket.closed_at,
                resolved_at=ticket.resolved_at,
                first_response_breached=first.breached,
                resolution_breached=resolution.breached,
                overdue_seconds=max(_late(first), _late(resolution)),
                assignee=ticket.assignee,
                team=ticket.team,
            )
        )
    return out


def _relevant(session: Session, desk: Desk, start: datetime) -> list[Ticket]:
    """Open tickets and those touched since `start`: all a digest needs."""
    return list(
        session.scalars(
            select(Ticket).where(
                Ticket.desk_id == desk.desk_id,
                or_(Ticket.state != State.CERRADO.value, Ticket.updated_at >= start),
            )
        )
    )


def _row(t: TicketFacts, desk: Desk) -> dict[str, object]:
    return {
        "number": t.number,
        "subject": t.subject,
        "state": STATE_WORDS[desk.language].get(t.state, t.state),
        "late_h": round(t.overdue_seconds / 3600, 1),
        "age_h": 0.0,
        "assignee": t.assignee or "",
        "team": t.team or "",
    }


def send_digest(desk: Desk, session: Session, *, kind: str, start: datetime, end: datetime) -> int:
    """Queue the digest of [start, end) for managers and directors; returns mails queued."""
    now = desk.clock.now()
    facts = ticket_facts(desk, _relevant(session, desk, start), now)
    found = figures(facts, start=start, end=end)
    people = [s for s in desk.config.staff if s.role in DIGEST_ROLES] or [
        s for s in desk.config.staff if s.role == "admin"
    ]
    for person in people:
        queue_mail(
            session,
            desk,
            kind=OutboxKind.DIGEST,
            to=person.email,
            to_name=person.name,
            now=now,
            context={
                "period": kind,
                "start": start.date().isoformat(),
                "end": end.date().isoformat(),
                "f": found,
                "backlog": sorted(
                    (STATE_WORDS[desk.language].get(k, k), v) for k, v in found.backlog.items()
                ),
                "overdue": [_row(t, desk) for t in found.overdue],
                "worst": [
                    {**_row(t, desk), "age_h": round((now - t.opened_at).total_seconds() / 3600, 1)}
                    for t in found.worst_waiting
                ],
            },
        )
    return len(people)


def send_alerts(desk: Desk, session: Session) -> int:
    """One mail per person with overdue tickets, most overdue first (seeds: alertas)."""
    now = desk.clock.now()
    open_tickets = list(
        session.scalars(
            select(Ticket).where(
                Ticket.desk_id == desk.desk_id, Ticket.state != State.CERRADO.value
            )
        )
    )
    overdue = [t for t in ticket_facts(desk, open_tickets, now) if t.overdue_seconds > 0]
    lists: dict[str, tuple[StaffConfig, list[TicketFacts]]] = {}
    admins = [s for s in desk.config.staff if s.role == "admin"]
    for item in overdue:
        owner = desk.config.staff_member(item.assignee) if item.assignee else None
        people = [owner] if owner else list(desk.config.team_members(item.team or ""))
        for person in [*people, *admins]:
            lists.setdefault(person.email.lower(), (person, []))[1].append(item)
    for person, items in lists.values():
        items.sort(key=lambda t: -t.overdue_seconds)
        queue_mail(
            session,
            desk,
            kind=OutboxKind.ALERTS,
            to=person.email,
            to_name=person.name,
            now=now,
            context={"rows": [_row(t, desk) for t in items], "count": len(items)},
        )
    return len(lists)
