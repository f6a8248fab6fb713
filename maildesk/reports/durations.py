"""First-response and resolution times and SLA compliance, ticket by ticket.

Business time needs the desk's calendar and each ticket's pauses, so these figures are
measured in Python, but only over the tickets whose first response or resolution
happened in the window, from three streaming queries of the few columns needed
(tickets, their state events, their vendors) merged by ticket id. Nothing else of a
ticket is loaded.

Definitions (docs/reports.md):
- calendar time: real time from opening to the event (pauses included);
- business time: the SLA clock (`sla.clock.running_spans`) in the business calendar: only
  while the ticket is recibido or en progreso, only in business hours;
- met: the SLA clock against the ticket's priority target (for the resolution: a deadline
  staff set, else the type's, else the priority's: `sla.policy.resolution_target`),
  counted as the target is written (business or calendar), exactly as `ticket show` and
  the escalations do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from maildesk.config import Config, Duration
from maildesk.domain import EventKind, ParticipantRole, State
from maildesk.models import Event, Participant, Ticket
from maildesk.reports import sql
from maildesk.reports.clock import BusinessIndex
from maildesk.reports.periods import Window
from maildesk.sla.clock import Span, running_spans
from maildesk.sla.policy import calendar_for, deadline_end, resolution_target, target_of

_BATCH = 5000
_STATES = {s.value: s for s in State}


@dataclass(frozen=True, slots=True)
class Timed:
    """One target's event of one ticket, measured."""

    calendar: float  # seconds, real time from opening
    business: float  # seconds, the SLA clock in business hours
    met: bool


@dataclass(frozen=True, slots=True)
class Measured:
    number: int
    subject: str
    state: str
    priority: str
    category: str
    team: str
    responsible: str
    vendors: tuple[str, ...]
    first_response: Timed | None  # None: not answered within the window
    resolution: Timed | None  # None: not resolved within the window


def _within(column: Any, window: Window) -> Any:
    return and_(column >= window.start, column < window.end)


def _timed(
    done: datetime | None,
    opened: datetime,
    spans: list[Span],
    duration: Duration,
    index: BusinessIndex,
    bounds: tuple[datetime, datetime],
    until: datetime | None = None,
) -> Timed | None:
    """One target's event measured, when it happened inside the window's `bounds`;
    `until` is a fixed due moment (a staff-set deadline) that replaces `duration`."""
    if done is None or not bounds[0] <= done < bounds[1]:
        return None
    target = target_of(duration)
    met = index.clock(spans, done, business=target.business) <= target.seconds
    return Timed(
        calendar=(done - opened).total_seconds(),
        business=index.clock(spans, done, business=True),
        met=met if until is None else done <= until,
    )


def measured(session: Session, config: Config, desk_id: int, window: Window) -> Iterator[Measured]:
    """Every ticket answered or resolved in `window`, with its times (in ticket id order)."""
    chosen = and_(
        Ticket.desk_id == desk_id,
        or_(_within(Ticket.first_response_at, window), _within(Ticket.resolved_at, window)),
    )
    oldest = session.scalar(
        select(func.min(sql.unindexed(session, Ticket.opened_at))).where(chosen)
    )
    if oldest is None:
        return
    calendar = calendar_for(config, range(oldest.year - 1, window.last.year + 2))
    index = BusinessIndex(
        calendar, oldest.date() - timedelta(days=1), window.last + timedelta(days=1)
    )
    vendors: dict[int, tuple[str, ...]] = {}
    for ticket_id, rows in groupby(
        session.execute(
            select(Participant.ticket_id, Participant.email)
            .join(Ticket, Participant.ticket_id == Ticket.id)
            .where(chosen, Participant.role == ParticipantRole.VENDOR.value)
            .order_by(Participant.ticket_id, Participant.id)
        ),
        key=lambda row: row[0],
    ):
        vendors[ticket_id] = tuple(row[1] for row in rows)
    # From the chosen tickets to their events (not from every state event to its ticket).
    events = session.execute(
        select(Event.ticket_id, Event.at, sql.state_field(session, "to"))
        .where(
            Event.ticket_id.in_(select(Ticket.id).where(chosen)),
            sql.unindexed(session, Event.kind) == EventKind.STATE.value,
        )
        .order_by(Event.ticket_id, Event.id)
        .execution_options(yield_per=_BATCH)
    )
    moves = groupby(events, key=lambda row: row[0])
    pending = next(moves, None)
    tickets = session.execute(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.subject,
            Ticket.state,
            Ticket.priority,
            Ticket.category,
            Ticket.team,
            Ticket.assignee,
            Ticket.opened_at,
            Ticket.first_response_at,
            Ticket.resolved_at,
            Ticket.type,
            Ticket.deadline,
        )
        .where(chosen)
        .order_by(Ticket.id)
        .execution_options(yield_per=_BATCH)
    )
    bounds = (window.start, window.end)
    for row in tickets:
        history: list[tuple[datetime, State]] = []
        while pending is not None and pending[0] <= row.id:
            if pending[0] == row.id:
                history = [(at, _STATES[to]) for _, at, to in pending[1] if to]
            pending = next(moves, None)
        spans = running_spans(history, opened_at=row.opened_at)
        settings = config.priorities.get(row.priority) or next(iter(config.priorities.values()))

        yield Measured(
            number=row.number,
            subject=row.subject,
            state=row.state,
            priority=row.priority,
            category=row.category,
            team=row.team or "",
            responsible=row.assignee or "",
            vendors=vendors.get(row.id, ()),
            first_response=_timed(
                row.first_response_at, row.opened_at, spans, settings.first_response, index, bounds
            ),
            resolution=_timed(
                row.resolved_at,
                row.opened_at,
                spans,
                resolution_target(config, row.priority, row.type),
                index,
                bounds,
                deadline_end(config, row.deadline) if row.deadline is not None else None,
            ),
        )
