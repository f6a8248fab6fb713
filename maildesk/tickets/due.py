"""A ticket's next SLA deadline, stored on the ticket so "overdue" is a SQL comparison.

The SLA clock (`sla.facts.sla_of`) needs the calendar and the ticket's history, which
SQL cannot replay; the deadline only moves when something SLA-relevant happens (opened,
a state change, the first answer, a new priority), so it is computed then, here, and
kept in `ticket.due_at`: the earliest deadline of a target not yet met, or None while
the clock is paused or every target is met. Tickets older than the column get theirs
from the escalation pass, which the migration of `next_check_at` has look at every open
ticket once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from maildesk.config import Config
from maildesk.domain import State
from maildesk.models import Ticket
from maildesk.sla.clock import Status
from maildesk.sla.facts import facts_of
from maildesk.sla.policy import desk_calendar, statuses


def next_due(config: Config, ticket: Ticket, now: datetime) -> datetime | None:
    """The earliest deadline of an unmet target, counting the ticket's current state."""
    facts = facts_of(ticket)
    # An event written in this unit of work may not be in `ticket.events` yet.
    if facts.history[-1][1].value != ticket.state:
        facts = replace(facts, history=[*facts.history, (now, State(ticket.state))])
    return earliest(statuses(facts, config, desk_calendar(config, now), now))


def earliest(found: Mapping[str, Status]) -> datetime | None:
    """The first deadline among the targets not met yet."""
    deadlines = [s.due_at for s in found.values() if s.met is None and s.due_at is not None]
    return min(deadlines, default=None)


def refresh_due(config: Config, ticket: Ticket, now: datetime) -> None:
    """Keep `ticket.due_at` true after a change the SLA clock depends on, and have the
    next escalation pass look at the ticket: what the change makes due (an unhappy
    resident, a new priority) is up to the pass, which alone knows what already fired."""
    ticket.due_at = next_due(config, ticket, now)
    closed = ticket.state == State.CERRADO.value or ticket.imported
    ticket.next_check_at = None if closed else now
