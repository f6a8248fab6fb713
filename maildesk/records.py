"""What a request records besides its words, in the words people read (pure).

Request types with their hints (for whoever opens a request: the console's lobby,
`ticket open --type`, the residents' web form), the intake media, the final causes,
and the dates staff type (`#plazo 2026-12-05`, `#inicio 5/12/2026`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from maildesk.config import Config
from maildesk.labels import channel_label, key

# Words that clear a date or a choice: `#plazo ninguno`.
CLEAR_WORDS = frozenset({"ninguno", "ninguna", "none", "no", "sin", "borrar", "clear"})


@dataclass(frozen=True, slots=True)
class TypeChoice:
    """One request type as offered to whoever opens a request."""

    slug: str
    name: str
    hint: str
    category: str


def type_choices(config: Config, language: str) -> list[TypeChoice]:
    """The desk's request types, in the order configured, with their hints in `language`."""
    return [
        TypeChoice(slug, kind.label(language), kind.hint_in(language), kind.category)
        for slug, kind in config.types.items()
    ]


def type_label(config: Config, slug: str | None, language: str) -> str:
    kind = config.types.get(slug or "")
    return kind.label(language) if kind is not None else slug or ""


def type_hint(config: Config, slug: str | None, language: str) -> str:
    kind = config.types.get(slug or "")
    return kind.hint_in(language) if kind is not None else ""


def cause_label(config: Config, slug: str | None) -> str:
    return config.causes.get(slug or "", slug or "")


def medium_choices(config: Config, language: str) -> list[tuple[str, str]]:
    """(stored name, words) of every intake medium the desk records."""
    return [(name, channel_label(name, language)) for name in config.desk.channels]


def type_words(config: Config) -> dict[str, str]:
    """Every way to name a type (slug, Spanish or English name), folded -> slug."""
    words: dict[str, str] = {}
    for slug, kind in config.types.items():
        for word in (slug, kind.name, kind.name_en):
            if word:
                words[key(word)] = slug
    return words


def cause_words(config: Config) -> dict[str, str]:
    """Every way to name a cause (slug or label), folded -> slug."""
    words: dict[str, str] = {}
    for slug, label in config.causes.items():
        words[key(slug)] = slug
        words[key(label)] = slug
    return words


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_LOCAL = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def parse_day(text: str) -> date:
    """`2026-12-05` or `5/12/2026` (day first, as written in Chile); ValueError otherwise."""
    text = text.strip()
    iso = _ISO.fullmatch(text)
    if iso:
        return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    local = _LOCAL.fullmatch(text)
    if local:
        return date(int(local.group(3)), int(local.group(2)), int(local.group(1)))
    raise ValueError(text)
