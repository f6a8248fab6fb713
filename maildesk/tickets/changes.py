"""The ticket's own fields, changed with their event: state, owner, priority, category,
unit, type, start date, deadline and final cause.

These apply a change the calling action has already allowed (rights, arguments); the
state machine itself is asked here, so no caller can skip it. They send nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from maildesk.config import Config
from maildesk.directory.lookup import unit_name
from maildesk.domain import EventKind, State
from maildesk.errors import Refused
from maildesk.models import Ticket, Unit
from maildesk.tickets import states
from maildesk.tickets.due import refresh_due
from maildesk.tickets.history import record_event
from maildesk.tickets.states import Action, InvalidTransition


def transition(
    session: Session,
    ticket: Ticket,
    action: Action,
    *,
    config: Config,
    actor: str,
    now: datetime,
    note: str = "",
    success: bool = True,
) -> State:
    """Move the ticket through the state machine, keeping its times and history.

    Raises `Refused("invalid_transition")` when the state machine does not allow it.
    """
    before = State(ticket.state)
    try:
        after = states.apply(before, action)
    except InvalidTransition as exc:
        raise Refused("invalid_transition", str(exc)) from exc
    ticket.state = after.value
    if after is State.VALIDACION:
        ticket.resolved_at = now
        ticket.resolution = note or ticket.resolution
    if after is State.CERRADO:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
        ticket.outcome = "success" if success else "failure"
        ticket.resolution = note or ticket.resolution
    if before is State.CERRADO or (before is State.VALIDACION and after is State.EN_PROGRESO):
        ticket.closed_at = None
        ticket.resolved_at = None
        ticket.outcome = None
    if after is not before:
        detail: dict[str, Any] = {"from": before.value, "to": after.value, "action": action.value}
        if note:
            detail["note"] = note
        if after is State.CERRADO:
            detail["outcome"] = ticket.outcome
        record_event(session, ticket, actor=actor, kind=EventKind.STATE, now=now, detail=detail)
        refresh_due(config, ticket, now)
    return after


def assign(
    session: Session,
    ticket: Ticket,
    *,
    assignee: str | None,
    team: str | None,
    actor: str,
    now: datetime,
) -> None:
    """Give the ticket to a person (and their team) or to a team."""
    ticket.assignee = assignee.lower() if assignee else None
    if team is not None:
        ticket.team = team
    record_event(
        session,
        ticket,
        actor=actor,
        kind=EventKind.ASSIGNED,
        now=now,
        detail={"assignee": ticket.assignee, "team": ticket.team},
    )


# Each field's event, and whether a change moves the SLA deadlines.
_FIELDS: dict[EventKind, tuple[str, bool]] = {
    EventKind.PRIORITY: ("priority", True),
    EventKind.CATEGORY: ("category", False),
    EventKind.TYPE: ("type", True),
    EventKind.STARTS_ON: ("starts_on", False),
    EventKind.DEADLINE: ("deadline", True),
    EventKind.CAUSE: ("cause", False),
}


def set_field(
    session: Session,
    ticket: Ticket,
    kind: EventKind,
    value: str | date | None,
    *,
    config: Config,
    actor: str,
    now: datetime,
) -> bool:
    """Change one of the ticket's recorded fields, keeping the old value in the history
    (a priority, type or deadline moves the SLA deadlines); False when it had that value."""
    name, moves_due = _FIELDS[kind]
    old = getattr(ticket, name)
    if old == value:
        return False
    setattr(ticket, name, value)
    shown = [v.isoformat() if isinstance(v, date) else v for v in (old, value)]
    record_event(
        session, ticket, actor=actor, kind=kind, now=now, detail={"from": shown[0], "to": shown[1]}
    )
    if moves_due:
        refresh_due(config, ticket, now)
    return True


def set_unit(
    session: Session,
    ticket: Ticket,
    unit: Unit,
    *,
    relation: str | None,
    actor: str,
    now: datetime,
) -> bool:
    """Set the directory's unit and the requester's relation to it, recording the old
    and the new unit's names; False when it was already that unit."""
    if ticket.unit_id == unit.id:
        return False
    old = ticket.directory_unit
    ticket.unit_id, ticket.requester_relation, ticket.updated_at = unit.id, relation, now
    ticket.directory_unit = unit
    record_event(
        session,
        ticket,
        actor=actor,
        kind=EventKind.UNIT,
        now=now,
        detail={"from": unit_name(old) if old is not None else None, "to": unit_name(unit)},
    )
    return True


def mark_first_response(config: Config, ticket: Ticket, now: datetime) -> None:
    """The first answer meets the first-response target: the next deadline is the solution's."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        refresh_due(config, ticket, now)
