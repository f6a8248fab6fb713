"""What the desk itself does to tickets: auto-close, a new status link, escalations,
an address the relay refuses.

The actor is the system; the scheduler and the operator's CLI decide *when*, these
functions decide *what happens*, like every other ticket action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk import signing
from maildesk.config import StaffConfig
from maildesk.context import Desk
from maildesk.domain import Change, EventKind, OutboxKind
from maildesk.models import Participant, Ticket
from maildesk.outbound import notify
from maildesk.tickets.actor import Actor
from maildesk.tickets.changes import transition
from maildesk.tickets.history import record_event
from maildesk.tickets.states import Action


def auto_close(session: Session, desk: Desk, ticket: Ticket, *, now: datetime) -> None:
    """A resolved ticket nobody answered for `desk.auto_close_days` closes; the resident is told."""
    days = desk.config.desk.auto_close_days
    transition(
        session,
        ticket,
        Action.AUTO_CLOSE,
        config=desk.config,
        actor=Actor.system().email,
        now=now,
        note=f"closed after {days} days without an answer",
    )
    notify.tell_resident(session, desk, ticket, change=Change.CLOSED, now=now)


def rotate_token(session: Session, ticket: Ticket, *, now: datetime) -> str:
    """A new status link; the old one stops working at once."""
    ticket.status_token = signing.new_token()
    record_event(session, ticket, actor="system", kind=EventKind.TOKEN_ROTATED, now=now)
    return ticket.status_token


def escalate(
    session: Session,
    desk: Desk,
    person: StaffConfig,
    items: Sequence[tuple[Ticket, Mapping[str, Any]]],
    *,
    now: datetime,
) -> None:
    """One mail to one person for all their escalated tickets of a pass, and an event
    on each ticket. `items` pairs each ticket with its row for the mail (most overdue
    first) which carries at least its `level` and `target`."""
    single = items[0][0] if len(items) == 1 else None
    rows = [
        {
            **row,
            "reply_to": signing.staff_reply_address(
                desk.address,
                ticket.number,
                desk.secret,
                person.email,
                now=now,
                days=desk.config.desk.staff_reply_days,
            ),
        }
        for ticket, row in items
    ]
    notify.mail_staff(
        session,
        desk,
        person,
        kind=OutboxKind.ESCALATION,
        now=now,
        ticket=single,
        context={
            "rows": rows,
            "tagged_subject": notify.tagged(desk, single) if single is not None else "",
            "count": len(rows),
        },
    )
    for ticket, row in items:
        record_event(
            session,
            ticket,
            actor="system",
            kind=EventKind.ESCALATED,
            now=now,
            detail={"level": row["level"], "target": row["target"], "to": person.email.lower()},
        )


def address_bouncing(
    session: Session, ticket: Ticket, address: str, *, error: str, now: datetime
) -> bool:
    """The relay refused a participant's address for good: flag it and say so in the history.

    Mail already refused is not retried, and later mail to it is kept unsent
    (`outbox.enqueue`), so staff know to reach the resident another way. Returns
    whether the address was a participant newly flagged (staff addresses are not).
    """
    participant = session.scalars(
        select(Participant).where(
            Participant.ticket_id == ticket.id, Participant.email == address.lower()
        )
    ).first()
    if participant is None or participant.bouncing:
        return False
    participant.bouncing = True
    record_event(
        session,
        ticket,
        actor="system",
        kind=EventKind.ADDRESS_BOUNCING,
        now=now,
        detail={"address": participant.email, "error": error},
    )
    return True
