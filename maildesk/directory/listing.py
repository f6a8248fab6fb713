"""The directory as `maildesk directory list` and `show` print it (read only)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from maildesk.directory.lookup import current, unit_name
from maildesk.domain import State
from maildesk.models import Person, Residency, Ticket, Unit


def units(session: Session, desk_id: int, today: date) -> list[dict[str, Any]]:
    """Every unit with its people valid today and its open tickets, by tower and number."""
    found = list(session.scalars(select(Unit).where(Unit.desk_id == desk_id)))
    people: dict[int, list[str]] = defaultdict(list)
    for residency in session.scalars(
        select(Residency)
        .join(Unit)
        .where(Unit.desk_id == desk_id)
        .options(selectinload(Residency.person))
        .order_by(Residency.id)
    ):
        if current(residency, today):
            people[residency.unit_id].append(residency.person.name or "?")
    open_tickets = dict(
        session.execute(
            select(Ticket.unit_id, func.count())
            .where(Ticket.desk_id == desk_id, Ticket.state != State.CERRADO.value)
            .group_by(Ticket.unit_id)
        ).all()
    )
    found.sort(key=lambda u: (u.tower, u.label != "", u.number.zfill(6), u.label))
    return [
        {
            "unit": unit_name(u),
            "tower": u.tower,
            "floor": u.floor,
            "people": ", ".join(people[u.id]),
            "open_tickets": int(open_tickets.get(u.id, 0)),
        }
        for u in found
    ]


def unit_detail(session: Session, unit: Unit, today: date) -> dict[str, Any]:
    """One unit: its people (relation, emails, phones, dates) and its open tickets."""
    residencies = session.scalars(
        select(Residency)
        .where(Residency.unit_id == unit.id)
        .options(selectinload(Residency.person).selectinload(Person.emails))
        .order_by(Residency.id)
    )
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.unit_id == unit.id, Ticket.state != State.CERRADO.value)
        .order_by(Ticket.number)
    )
    return {
        "unit": unit_name(unit),
        "tower": unit.tower,
        "floor": unit.floor,
        "number": unit.number,
        "label": unit.label,
        "people": [
            {
                "name": r.person.name,
                "relation": r.relation,
                "emails": [e.email for e in r.person.emails],
                "phones": r.person.phones.splitlines(),
                "from": r.since.isoformat() if r.since else None,
                "until": r.until.isoformat() if r.until else None,
                "current": current(r, today),
            }
            for r in residencies
        ],
        "open_tickets": [
            {"number": t.number, "state": t.state, "subject": t.subject} for t in tickets
        ],
    }
