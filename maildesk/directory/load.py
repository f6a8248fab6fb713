"""Writes a checked directory file into a desk's directory, idempotently.

The file is the administration's current list: what it names is added or brought up
to date, what it does not name is left alone (a partial list never deletes anyone).
Loading the same file twice adds and changes nothing the second time. The caller
runs this in one transaction after `rows.check` found no problem, so a file is
loaded whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.directory.rows import Entry
from maildesk.labels import key
from maildesk.models import Person, PersonEmail, Residency, Unit


@dataclass
class Counts:
    """Rows of the directory (units, people, emails, residencies) added and changed."""

    added: int = 0
    changed: int = 0

    def __str__(self) -> str:
        return f"{self.added} added, {self.changed} changed"


class _Directory:
    """A desk's directory read once, kept current as the file is written."""

    def __init__(self, session: Session, desk_id: int) -> None:
        self.session, self.desk_id = session, desk_id
        self.units = {
            u.key: u for u in session.scalars(select(Unit).where(Unit.desk_id == desk_id))
        }
        self.by_email = {
            e.email: e.person_id
            for e in session.scalars(select(PersonEmail).where(PersonEmail.desk_id == desk_id))
        }
        self.people = {
            p.id: p for p in session.scalars(select(Person).where(Person.desk_id == desk_id))
        }
        self.residencies = {
            (r.person_id, r.unit_id): r
            for r in session.scalars(select(Residency).join(Unit).where(Unit.desk_id == desk_id))
        }
        self.counts = Counts()

    def _set(self, row: object, **values: object) -> None:
        """Set the values that differ; count the row changed once if any did."""
        different = {k: v for k, v in values.items() if getattr(row, k) != v}
        for name, value in different.items():
            setattr(row, name, value)
        if different:
            self.counts.changed += 1

    def _add(self, row: object) -> None:
        self.session.add(row)
        self.session.flush()
        self.counts.added += 1

    def unit(self, entry: Entry) -> Unit:
        name = entry.unit
        found = self.units.get(name.key)
        if found is None:
            found = Unit(
                desk_id=self.desk_id,
                key=name.key,
                tower=name.tower,
                floor=name.floor,
                number=name.number,
                label=name.label,
            )
            self._add(found)
            self.units[name.key] = found
        else:  # the same key: the spelling first loaded stays, a floor given is kept
            self._set(found, floor=name.floor or found.floor)
        return found

    def person(self, entry: Entry, unit: Unit) -> Person:
        found = self._find_person(entry, unit)
        if found is None:
            found = Person(desk_id=self.desk_id, name=entry.name, phones="\n".join(entry.phones))
            self._add(found)
            self.people[found.id] = found
        else:
            phones = _merged(found.phones.splitlines(), entry.phones)
            self._set(found, name=entry.name or found.name, phones="\n".join(phones))
        for email in entry.emails:
            if email not in self.by_email:
                self._add(PersonEmail(desk_id=self.desk_id, person_id=found.id, email=email))
                self.by_email[email] = found.id
        return found

    def _find_person(self, entry: Entry, unit: Unit) -> Person | None:
        """By any of the row's addresses; a row without one, by name within the unit."""
        for email in entry.emails:
            if email in self.by_email:
                return self.people[self.by_email[email]]
        if entry.emails:
            return None
        wanted = key(entry.name)
        for person_id, unit_id in self.residencies:
            person = self.people[person_id]
            if unit_id == unit.id and key(person.name) == wanted:
                return person
        return None

    def residency(self, entry: Entry, person: Person, unit: Unit) -> None:
        found = self.residencies.get((person.id, unit.id))
        values = {"relation": entry.relation.value, "since": entry.since, "until": entry.until}
        if found is None:
            found = Residency(person_id=person.id, unit_id=unit.id, **values)
            self._add(found)
            self.residencies[(person.id, unit.id)] = found
        else:
            self._set(found, **values)


def _merged(old: Sequence[str], new: Iterable[str]) -> list[str]:
    merged = list(old)
    merged += [p for p in new if p not in merged]
    return merged


def load(
    session: Session,
    desk_id: int,
    entries: Sequence[Entry],
    *,
    step: Callable[[], None] = lambda: None,
) -> Counts:
    """Write every entry; returns how many directory rows were added and changed.

    `step` is called after each entry (the command's progress bar).
    """
    directory = _Directory(session, desk_id)
    for entry in entries:
        unit = directory.unit(entry)
        if entry.has_person:
            person = directory.person(entry, unit)
            directory.residency(entry, person, unit)
        step()
    session.flush()
    return directory.counts
