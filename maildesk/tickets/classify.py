"""Sensible first guesses for a new request: category, priority, unit and team (pure).

Staff can change any of them; these rules only spare them the obvious. Matching is
on whole words, case- and accent-insensitive, in the subject and the body.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maildesk.text import fold

if TYPE_CHECKING:
    from maildesk.config import Config

FALLBACK_CATEGORY = "general"
DEFAULT_PRIORITY = "media"

_UNIT_WORDS = {
    "depto": "depto",
    "dpto": "depto",
    "departamento": "depto",
    "depa": "depto",
    "apto": "depto",
    "apartamento": "depto",
    "apt": "depto",
    "unidad": "unidad",
    "unit": "unidad",
    "casa": "casa",
    "oficina": "oficina",
    "of": "oficina",
    "local": "local",
    "bodega": "bodega",
    "estacionamiento": "estacionamiento",
    "torre": "torre",
    "block": "block",
    "bloque": "block",
    "edificio": "edificio",
    "piso": "piso",
}
_UNIT = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _UNIT_WORDS), key=len, reverse=True)) + r")\.?"
    r"\s*(?:n[°ºo]\.?\s*|#\s*)?([0-9]{1,5}[a-z]?|[a-z](?![a-z]))\b",
    re.IGNORECASE,
)
_PLACE_ORDER = (
    "torre",
    "block",
    "edificio",
    "piso",
    "depto",
    "unidad",
    "casa",
    "oficina",
    "local",
    "bodega",
    "estacionamiento",
)


@functools.lru_cache(maxsize=4096)
def _word_pattern(word: str) -> re.Pattern[str]:
    """Compiled once per configured word: classifying runs inside the intake's write lock."""
    return re.compile(rf"(?<!\w){re.escape(fold(word))}(?!\w)")


@functools.lru_cache(maxsize=1024)
def _any_word(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """All of a rule's words in one alternation: most texts hold none of a category's
    words, and one search says so where a search per word took some 400 a mail."""
    if not words:
        return None
    folded = sorted({re.escape(fold(w)) for w in words}, key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(folded)})(?!\w)")


def _matches(text: str, words: Iterable[str]) -> int:
    """How many of `words` the text holds (each counted once)."""
    words = tuple(words)
    anything = _any_word(words)
    if anything is None or anything.search(text) is None:
        return 0
    return sum(1 for w in words if _word_pattern(w).search(text))


def find_unit(text: str) -> str | None:
    """ "depto 402", "torre B" … found in the text, normalised and in a stable order."""
    found: dict[str, str] = {}
    for match in _UNIT.finditer(text):
        kind = _UNIT_WORDS[match.group(1).lower().rstrip(".")]
        found.setdefault(
            kind, match.group(2).upper() if match.group(2).isalpha() else match.group(2)
        )
    if not found:
        return None
    return ", ".join(f"{kind} {found[kind]}" for kind in _PLACE_ORDER if kind in found)


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    priority: str
    unit: str | None
    team: str


def route(config: Config, *, category: str, text: str, unit: str | None, sender: str) -> str:
    """The team: the first matching rule, else the category's team, else the default team."""
    folded = fold(text)
    sender = sender.lower()
    for rule in config.routes:
        if (
            category in rule.categories
            or _matches(folded, rule.keywords)
            or (unit is not None and any(fold(u) in fold(unit) for u in rule.units))
            or any(
                sender == s.lower() or (s.startswith("@") and sender.endswith(s.lower()))
                for s in rule.senders
            )
        ):
            return rule.team
    category_team = config.categories.get(category)
    if category_team is not None and category_team.team:
        return category_team.team
    return config.desk.default_team


CLASSIFIED_CHARS = 20_000
"""The body read for keywords: a request says what it is about early, and every keyword
is a scan of the text (a 2 MB body took half a minute)."""


def classify(config: Config, *, subject: str, text: str, sender: str) -> Classification:
    """Category by most keywords matched (the subject counts double), priority by keywords."""
    subject, text = subject[:CLASSIFIED_CHARS], text[:CLASSIFIED_CHARS]
    folded_subject, folded_body = fold(subject), fold(text)
    best, best_score = FALLBACK_CATEGORY, 0
    for name, category in config.categories.items():
        score = 2 * _matches(folded_subject, category.keywords) + _matches(
            folded_body, category.keywords
        )
        if score > best_score:
            best, best_score = name, score
    priority = config.categories[best].priority if best in config.categories else ""
    whole = f"{folded_subject}\n{folded_body}"
    for name in ("alta", *[p for p in config.priorities if p != "alta"]):
        settings = config.priorities.get(name)
        if settings is not None and settings.keywords and _matches(whole, settings.keywords):
            priority = name
            break
    priority = priority or (
        DEFAULT_PRIORITY if DEFAULT_PRIORITY in config.priorities else next(iter(config.priorities))
    )
    unit = find_unit(f"{subject}\n{text}")
    team = route(config, category=best, text=f"{subject}\n{text}", unit=unit, sender=sender)
    return Classification(best, priority, unit, team)
