"""The escalation pass: what is due is recorded once per (ticket, target, level) and
each person gets one mail per pass (per batch, when more than a batch is due) listing
all their tickets that escalated in it.

A pass reads only the tickets whose `next_check_at` has come (the next threshold the
policy can cross, or a change since), in short batches, and sets each one's next check;
when the SLA rules differ from those the checks were set by, every open ticket is due.
Recording and mailing happen in one transaction per batch, and a unique constraint on
the record means a second worker, a restart or the next pass never sends it again.
On PostgreSQL an advisory lock lets one worker run the pass at a time; the others
skip it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from maildesk.config import Config, StaffConfig
from maildesk.context import Desk
from maildesk.domain import EventKind, Role, State
from maildesk.models import Desk as DeskRow
from maildesk.models import Escalation, Event, Ticket
from maildesk.sla.facts import facts_of
from maildesk.sla.policy import (
    Due,
    Level,
    desk_calendar,
    due,
    next_check,
    rules_fingerprint,
    statuses,
)
from maildesk.tickets import system
from maildesk.tickets.due import earliest

log = logging.getLogger(__name__)

LOCK_ESCALATE = 7272
# The events an escalation mail shows as a ticket's short history.
_HISTORY = (EventKind.CREATED, EventKind.STATE, EventKind.ASSIGNED, EventKind.REPLY)

# Who is told at each level; when nobody has that role, the next one up hears.
ROLE_FOR = {
    Level.SUPERVISOR: Role.SUPERVISOR,
    Level.MANAGER: Role.MANAGER,
    Level.DIRECTOR: Role.DIRECTOR,
}
CLIMB = (Role.SUPERVISOR, Role.MANAGER, Role.DIRECTOR, Role.ADMIN)


def recipients(config: Config, ticket: Ticket, level: Level) -> list[StaffConfig]:
    if level is Level.ASSIGNEE:
        member = config.staff_member(ticket.assignee) if ticket.assignee else None
        if member is not None:
            return [member]
        team = list(config.team_members(ticket.team)) if ticket.team else []
        if team:
            return team
        level = Level.SUPERVISOR
    start = CLIMB.index(ROLE_FOR[level])
    for role in CLIMB[start:]:
        people = [s for s in config.staff if Role(s.role) is role]
        same_team = [s for s in people if ticket.team in s.teams]
        if people:
            return same_team or people
    return []


@dataclass
class PassReport:
    skipped: bool = False
    escalations: int = 0
    mails: int = 0
    by_recipient: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)


# Tickets read, escalated and mailed per transaction: short enough that intake, which
# waits for SQLite's write lock, never waits long.
BATCH = 500


def _locked(session: Session, desk: Desk) -> bool:
    if not desk.db.is_postgres:
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_ESCALATE))))


def run_pass(desk: Desk, *, batch: int = BATCH) -> PassReport:
    """One escalation pass at `desk.clock.now()` over the tickets whose check is due.

    Batches of `batch` tickets, each in its own transaction: a person mentioned in
    several batches gets a mail per batch. A worker that cannot take the lock leaves
    the rest of the pass to the one that holds it.
    """
    now = desk.clock.now()
    report = PassReport()
    _check_all_on_new_rules(desk, now)
    while True:
        done = _run_batch(desk, now, batch, report)
        if done is None:
            report.skipped = True
            return report
        if done < batch:
            break
    if report.escalations:
        log.info("escalation pass: %d escalation(s), %d mail(s)", report.escalations, report.mails)
    return report


def _check_all_on_new_rules(desk: Desk, now: datetime) -> None:
    """After an upgrade or a change of the SLA rules, every open ticket is due for a check:
    its stored one was set by other rules (or none)."""
    rules = rules_fingerprint(desk.config)
    with desk.db.transaction() as session:
        row = session.get(DeskRow, desk.desk_id)
        if row is None or row.sla_rules == rules:
            return
        session.execute(
            update(Ticket)
            .where(
                Ticket.desk_id == desk.desk_id,
                Ticket.state != State.CERRADO.value,
                Ticket.imported.is_(False),
            )
            .values(next_check_at=now)
        )
        row.sla_rules = rules


def _run_batch(desk: Desk, now: datetime, size: int, report: PassReport) -> int | None:
    """Check up to `size` due tickets in one transaction; how many, None when locked out."""
    config = desk.config
    with desk.db.transaction() as session:
        if not _locked(session, desk):
            return None
        tickets = list(
            session.scalars(
                select(Ticket)
                .where(
                    Ticket.desk_id == desk.desk_id,
                    Ticket.next_check_at <= now,
                    Ticket.state != State.CERRADO.value,
                    Ticket.imported.is_(False),
                )
                .order_by(Ticket.next_check_at, Ticket.id)
                .limit(size)
                .options(selectinload(Ticket.events.and_(Event.kind.in_(_HISTORY))))
            )
        )
        fired = {
            tuple(row)
            for row in session.execute(
                select(Escalation.ticket_id, Escalation.target, Escalation.level).where(
                    Escalation.ticket_id.in_([t.id for t in tickets])
                )
            )
        }
        pending: dict[str, tuple[StaffConfig, list[tuple[Ticket, Due]]]] = {}
        cal = desk_calendar(config, now)
        for ticket in tickets:
            facts = facts_of(ticket)
            found = statuses(facts, config, cal, now)
            if ticket.due_at is None:  # opened before the column existed, or paused
                ticket.due_at = earliest(found)
            ticket.next_check_at = next_check(facts, config, cal, now)
            for item in due(facts, found, config, now):
                if (ticket.id, item.target, item.level.value) in fired:
                    continue
                session.add(
                    Escalation(
                        ticket_id=ticket.id,
                        target=item.target,
                        level=item.level.value,
                        reason=item.reason,
                        fired_at=now,
                    )
                )
                report.escalations += 1
                for person in recipients(config, ticket, item.level):
                    pending.setdefault(person.email.lower(), (person, []))[1].append((ticket, item))
        session.flush()
        for email, (person, items) in pending.items():
            items.sort(key=lambda pair: -pair[1].overdue_seconds)
            _mail(session, desk, person, items, now=now)
            report.mails += 1
            report.by_recipient.setdefault(email, []).extend(
                (t.number, d.target, d.level.value) for t, d in items
            )
    return len(tickets)


def _mail(
    session: Session,
    desk: Desk,
    person: StaffConfig,
    items: Sequence[tuple[Ticket, Due]],
    *,
    now: datetime,
) -> None:
    """One mail to one person for all their escalations in this pass."""
    rows = []
    for ticket, item in items:
        events = [e for e in ticket.events if e.kind in _HISTORY]
        row: dict[str, Any] = {
            "number": ticket.number,
            "subject": ticket.subject,
            "priority": ticket.priority,
            "state": ticket.state,
            "assignee": ticket.assignee or "",
            "team": ticket.team or "",
            "level": item.level.value,
            "target": item.target,
            "used": round(item.used * 100),
            "late_minutes": int(item.overdue_seconds // 60),
            "history": [(e.at.strftime("%Y-%m-%d %H:%M"), e.actor, e.kind) for e in events[-5:]],
        }
        rows.append((ticket, row))
    system.escalate(session, desk, person, rows, now=now)
