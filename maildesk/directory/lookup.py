"""Questions the ticket actions ask the directory: who is this sender, which unit is
"402", and what is close to a unit that does not exist."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.directory.keys import loose, shown
from maildesk.models import Person, PersonEmail, Residency, Ticket, Unit

CLOSE_MATCHES = 5


def unit_name(unit: Unit) -> str:
    """The unit as people read it ("torre Ñandú, depto 402"); `labels.unit_label` words it."""
    return shown(unit.tower, unit.number, unit.label)


def person_of(session: Session, desk_id: int, email: str) -> Person | None:
    return session.scalar(
        select(Person)
        .join(PersonEmail, PersonEmail.person_id == Person.id)
        .where(PersonEmail.desk_id == desk_id, PersonEmail.email == email.strip().lower())
    )


def current(residency: Residency, today: date) -> bool:
    """Valid today: begun (or no start known) and not ended (the until day included)."""
    return (residency.since is None or residency.since <= today) and (
        residency.until is None or residency.until >= today
    )


def residencies(session: Session, person_id: int) -> list[Residency]:
    """A person's residencies, the latest begun first."""
    found = session.scalars(select(Residency).where(Residency.person_id == person_id))
    return sorted(found, key=lambda r: (r.since or date.min, r.id), reverse=True)


@dataclass(frozen=True, slots=True)
class Requester:
    """What the directory knows of a sender: their unit and relation today, if any."""

    unit: Unit | None
    relation: str | None


def requester(
    session: Session,
    desk_id: int,
    email: str,
    today: date,
    named: str | None = None,
    chosen: str = "",
) -> Requester:
    """The sender's unit valid today; when they have several, the one the text names.

    A unit staff chose when opening for a caller or a walk-in ("402") is taken when the
    directory knows it, with the requester's relation to it if any.
    """
    if chosen:
        unit = find_unit(session, desk_id, chosen).unit
        if unit is not None:
            return Requester(unit, relation_to(session, desk_id, email, unit, today))
    if not email:
        return Requester(None, None)
    person = person_of(session, desk_id, email)
    if person is None:
        return Requester(None, None)
    valid = [r for r in residencies(session, person.id) if current(r, today)]
    if not valid:
        return Requester(None, None)
    wanted = loose(named) if named else ""
    stay = next((r for r in valid if wanted and _names(r.unit, wanted)), valid[0])
    return Requester(stay.unit, stay.relation)


def relation_to(session: Session, desk_id: int, email: str, unit: Unit, today: date) -> str | None:
    """The sender's relation to `unit` today, if the directory has one."""
    person = person_of(session, desk_id, email) if email else None
    if person is None:
        return None
    found = session.scalar(
        select(Residency).where(Residency.person_id == person.id, Residency.unit_id == unit.id)
    )
    return found.relation if found is not None and current(found, today) else None


def _names(unit: Unit, wanted: str) -> bool:
    """Whether `wanted` (already `loose`) names the unit, with or without its tower."""
    place = _place(unit)
    return wanted in (loose(unit_name(unit)), place) or wanted.endswith(f" {place}")


@dataclass(frozen=True, slots=True)
class Found:
    """The one unit a text names, or the units it may have meant."""

    unit: Unit | None
    close: tuple[str, ...]


def find_unit(session: Session, desk_id: int, text: str) -> Found:
    """The unit "402", "B 402", "torre Ñandú depto 402" or "bodega 12" names; when none or
    several do, the closest units' names for the refusal."""
    wanted = loose(text)
    units = list(session.scalars(select(Unit).where(Unit.desk_id == desk_id)))
    full = [u for u in units if loose(unit_name(u)) == wanted]
    if len(full) == 1:
        return Found(full[0], ())
    by_place = full or [u for u in units if _place(u) == wanted]
    if len(by_place) == 1:
        return Found(by_place[0], ())
    if by_place:
        return Found(None, tuple(sorted(unit_name(u) for u in by_place))[:CLOSE_MATCHES])
    scored = sorted(
        (-max(_likeness(wanted, loose(unit_name(u))), _likeness(wanted, _place(u))), unit_name(u))
        for u in units
    )
    return Found(None, tuple(name for score, name in scored[:CLOSE_MATCHES] if -score >= 0.6))


def _place(unit: Unit) -> str:
    return loose(unit.label or unit.number)


def _likeness(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def other_unit(unit: Unit | None, named: str | None) -> str | None:
    """The unit the text names when it is not the directory's unit (to show both)."""
    if not named or unit is None:
        return None
    wanted = loose(named)
    return None if _names(unit, wanted) else named


def shown_units(ticket: Ticket) -> dict[str, str | None]:
    """The directory's unit of a ticket, the requester's relation to it, and a different
    unit named in the text: what notices, `ticket show` and the console show."""
    unit = ticket.directory_unit
    return {
        "directory_unit": unit_name(unit) if unit is not None else None,
        "relation": ticket.requester_relation,
        "other_unit": other_unit(unit, ticket.unit),
    }
