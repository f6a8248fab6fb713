"""How a unit is named and recognised, whoever wrote it (pure).

An administration writes "Torre Ñandú" / "402", a resident "depto 402", staff
"#unidad B 402": all of them reduce to the same `unit_key`, lower case and without
accents, so one unit is stored once and found again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from maildesk.labels import key

# Words written before a tower or an apartment number that say nothing by themselves.
_TOWER_WORDS = ("torre", "tower", "edificio", "building", "block", "bloque")
_NUMBER_WORDS = (
    "depto",
    "dpto",
    "departamento",
    "depa",
    "apto",
    "apartamento",
    "apt",
    "unidad",
    "unit",
    "n",
    "no",
    "nro",
)
_NUMBER = re.compile(r"\d{1,5}[a-z]?|[a-z]")


@dataclass(frozen=True, slots=True)
class UnitName:
    """A unit as written in a directory file: tower, floor, and a number or a label."""

    tower: str
    floor: str
    number: str
    label: str

    @property
    def key(self) -> str:
        return unit_key(self.tower, self.number or self.label)


def _strip_words(words: list[str], leading: tuple[str, ...]) -> list[str]:
    while len(words) > 1 and words[0] in leading:
        words = words[1:]
    return words


def tower_key(tower: str) -> str:
    """ "Torre Ñandú" -> "nandu"; "B" -> "b"."""
    return " ".join(_strip_words(key(tower).split(), _TOWER_WORDS))


def place_key(place: str) -> str:
    """ "Depto 402" -> "402"; "Bodega 12" -> "bodega 12"."""
    return " ".join(_strip_words(key(place).split(), _NUMBER_WORDS))


def unit_key(tower: str, place: str) -> str:
    """The stored key of a unit: its tower and its number or label, normalised."""
    return f"{tower_key(tower)}/{place_key(place)}"


def parse_unit(tower: str, floor: str, place: str) -> UnitName:
    """A directory row's unit: "402" or "depto 402" is a number, "bodega 12" a label."""
    place = " ".join(place.split())
    number = place_key(place)
    if _NUMBER.fullmatch(number):
        return UnitName(" ".join(tower.split()), floor.strip(), number.upper(), "")
    return UnitName(" ".join(tower.split()), floor.strip(), "", place)


def shown(tower: str, number: str, label: str) -> str:
    """A unit as people read it, in the words `classify.find_unit` stores and
    `labels.unit_label` translates: "torre Ñandú, depto 402", "bodega 12"."""
    parts = []
    if tower:
        words = key(tower).split()
        parts.append(tower if words and words[0] in _TOWER_WORDS else f"torre {tower}")
    parts.append(label or f"depto {number}")
    return ", ".join(parts)


def loose(text: str) -> str:
    """What is left to compare of a unit as anyone writes it: "torre B, depto 402" and
    "B 402" are both "b 402" (a place word is dropped unless it is the last word)."""
    words = key(text).split()
    noise = (*_TOWER_WORDS, *_NUMBER_WORDS)
    return " ".join(w for i, w in enumerate(words) if w not in noise or i == len(words) - 1)
