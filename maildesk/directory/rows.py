"""Every row of a directory file checked before anything is written (pure).

Headers are matched without case or accents, in Spanish or English (interface.md,
"Directory files"); `unidad`/`unit` is the only required one. Every problem of every
row is collected with its line, so the administration fixes the file in one go; a
file with any problem is not loaded at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from maildesk.directory.keys import UnitName, parse_unit
from maildesk.domain import Relation
from maildesk.labels import key

# Each column's header words, folded; `piso`/`floor` is optional and not in interface.md.
HEADERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "tower": ("torre", "tower"),
        "floor": ("piso", "floor"),
        "unit": ("unidad", "unit"),
        "name": ("nombre", "name"),
        "email": ("correo", "email", "e mail", "correo electronico"),
        "phone": ("telefono", "phone", "celular"),
        "relation": ("relacion", "relation"),
        "since": ("desde", "from"),
        "until": ("hasta", "until"),
    }
)
RELATIONS: Mapping[str, Relation] = MappingProxyType(
    {
        "propietario": Relation.OWNER,
        "propietaria": Relation.OWNER,
        "dueno": Relation.OWNER,
        "duena": Relation.OWNER,
        "owner": Relation.OWNER,
        "arrendatario": Relation.TENANT,
        "arrendataria": Relation.TENANT,
        "inquilino": Relation.TENANT,
        "inquilina": Relation.TENANT,
        "tenant": Relation.TENANT,
        "otro": Relation.OTHER,
        "otra": Relation.OTHER,
        "other": Relation.OTHER,
    }
)
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+")
_SEPARATORS = re.compile(r"[\s,;/]+")
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")


@dataclass(frozen=True, slots=True)
class Entry:
    """One checked row: a unit, and maybe a person with their relation to it."""

    line: int
    unit: UnitName
    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    relation: Relation
    since: date | None
    until: date | None

    @property
    def has_person(self) -> bool:
        return bool(self.name or self.emails)


@dataclass(frozen=True, slots=True)
class Checked:
    entries: tuple[Entry, ...]
    errors: tuple[str, ...]


def columns(header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Which cell holds each column, and the problems of the header line."""
    words = {word: column for column, names in HEADERS.items() for word in names}
    found: dict[str, int] = {}
    errors = []
    for index, cell in enumerate(header):
        column = words.get(key(cell))
        if column is not None and column not in found:
            found[column] = index
    if "unit" not in found:
        errors.append("line 1: no 'unidad'/'unit' column in the header")
    return found, errors


def check(lines: Sequence[tuple[int, list[str]]]) -> Checked:
    """Every row as an `Entry`, or every problem found, each naming its line."""
    if not lines:
        return Checked((), ("line 1: the file is empty",))
    found, errors = columns(lines[0][1])
    if errors:
        return Checked((), tuple(errors))
    entries = []
    for number, cells in lines[1:]:
        entry, problems = _entry(number, {c: _at(cells, i) for c, i in found.items()})
        errors += problems
        if entry is not None:
            entries.append(entry)
    errors += _conflicts(entries)
    return Checked(tuple(entries), tuple(errors))


def _at(cells: Sequence[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def _entry(number: int, cell: Mapping[str, str]) -> tuple[Entry | None, list[str]]:
    errors = []
    where = f"line {number}"
    place = cell.get("unit", "")
    if not place:
        errors.append(f"{where}: the unit is empty")
    emails = tuple(e.lower() for e in _SEPARATORS.split(cell.get("email", "")) if e)
    errors += [f"{where}: {e!r} is not an email address" for e in emails if not _EMAIL.fullmatch(e)]
    relation_word = cell.get("relation", "")
    relation = RELATIONS.get(key(relation_word)) if relation_word else Relation.OTHER
    if relation is None:
        errors.append(
            f"{where}: {relation_word!r} is not a relation "
            "(propietario/owner, arrendatario/tenant, otro/other)"
        )
    since, since_error = _date(cell.get("since", ""))
    until, until_error = _date(cell.get("until", ""))
    errors += [f"{where}: {e}" for e in (since_error, until_error) if e]
    if since and until and until < since:
        errors.append(f"{where}: 'hasta' {until} is before 'desde' {since}")
    if errors or relation is None:
        return None, errors
    phones = tuple(p.strip() for p in re.split(r"[;,/\n]+", cell.get("phone", "")) if p.strip())
    unit = parse_unit(cell.get("tower", ""), cell.get("floor", ""), place)
    name = " ".join(cell.get("name", "").split())
    return Entry(number, unit, name, emails, phones, relation, since, until), []


def _date(text: str) -> tuple[date | None, str]:
    if not text:
        return None, ""
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date(), ""
        except ValueError:
            continue
    return None, f"{text!r} is not a date (YYYY-MM-DD or DD-MM-YYYY)"


def _conflicts(entries: Sequence[Entry]) -> list[str]:
    """One address is one person: two names for one address cannot both be right."""
    named: dict[str, Entry] = {}
    errors = []
    for entry in entries:
        for email in entry.emails:
            first = named.setdefault(email, entry)
            if first.name and entry.name and key(first.name) != key(entry.name):
                errors.append(
                    f"line {entry.line}: {email} belongs to {first.name!r} on line "
                    f"{first.line}, not to {entry.name!r}"
                )
    return errors
