"""A ticket row as the SLA policy's plain facts, and its SLA status now.

`policy` decides from `Facts` alone (pure); this is the one place that reads them from
a ticket and its state events, for the escalation pass, notices, pages and the CLI.
"""

from __future__ import annotations

import json
from datetime import datetime

from maildesk.config import Config
from maildesk.domain import EventKind, State
from maildesk.models import Ticket
from maildesk.sla.clock import Status
from maildesk.sla.policy import Facts, desk_calendar, statuses


def facts_of(ticket: Ticket) -> Facts:
    history = [
        (e.at, State(_to(e.detail)))
        for e in ticket.events
        if e.kind == EventKind.STATE and _to(e.detail)
    ]
    unhappy = any(
        e.kind == EventKind.STATE and '"action": "reject"' in e.detail for e in ticket.events
    )
    return Facts(
        number=ticket.number,
        priority=ticket.priority,
        opened_at=ticket.opened_at,
        history=[(ticket.opened_at, State.RECIBIDO), *history],
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        unhappy=unhappy,
        kind=ticket.type,
        deadline=ticket.deadline,
    )


def _to(detail: str) -> str:
    try:
        value = json.loads(detail).get("to", "") if detail else ""
    except ValueError:
        return ""
    return value if value in State.__members__.values() else ""


def sla_of(config: Config, ticket: Ticket, now: datetime) -> dict[str, Status]:
    """A ticket's first-response and resolution status now: for views, pages and mails."""
    return statuses(facts_of(ticket), config, desk_calendar(config, now), now)
