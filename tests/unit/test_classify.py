"""First guesses for a new request: residents write in Spanish or English, and both are understood."""

from __future__ import annotations

import time

import pytest

from maildesk.config import Config, DeskConfig
from maildesk.text import fold
from maildesk.tickets import classify as classify_module
from maildesk.tickets.classify import classify

ENGLISH = Config(desk=DeskConfig(language="en"))


@pytest.mark.parametrize(
    ("subject", "text", "category", "priority"),
    [
        ("Water leak in unit 402", "", "mantenimiento", "media"),
        ("URGENT: no water", "Since this morning.", "general", "alta"),
        ("The elevator is broken", "", "mantenimiento", "media"),
        ("Noise from the neighbour", "Loud music every night.", "convivencia", "media"),
        (
            "Suspicious person",
            "Someone tried the gate, I think there was a theft.",
            "seguridad",
            "media",
        ),
        ("A parcel for me?", "Was a package left at the front desk?", "paquetería", "media"),
        ("Lost my key card", "", "accesos", "media"),
        ("Booking the pool", "", "amenidades", "media"),
        ("Question about the invoice", "", "administración", "baja"),
        ("Gas leak in the kitchen", "", "mantenimiento", "alta"),
    ],
)
def test_english_requests_are_classified(
    subject: str, text: str, category: str, priority: str
) -> None:
    """An English request gets the same category and priority a Spanish one would."""
    found = classify(ENGLISH, subject=subject, text=text, sender="resident@example.org")
    assert (found.category, found.priority) == (category, priority)


@pytest.mark.parametrize(
    ("subject", "category", "priority"),
    [
        ("Fuga de agua en el depto 402", "mantenimiento", "media"),
        ("URGENTE: sin agua", "general", "alta"),
        ("Consulta por gastos comunes", "administración", "baja"),
    ],
)
def test_spanish_requests_still_are(subject: str, category: str, priority: str) -> None:
    """Spanish keywords keep working, whatever the desk's language."""
    for config in (Config(), ENGLISH):
        found = classify(config, subject=subject, text="", sender="vecina@example.org")
        assert (found.category, found.priority) == (category, priority)


def test_a_desk_in_english_routes_an_english_leak_to_maintenance() -> None:
    """ "Water leak" on an English desk goes to the maintenance team, not the default team."""
    found = classify(ENGLISH, subject="Water leak", text="", sender="r@example.org")
    assert found.team == "mantenimiento"


def test_a_huge_body_is_classified_quickly_from_its_start() -> None:
    """Keywords are read from the body's start: 2 MB of text once took half a minute."""
    text = "Hay una fuga de agua en el baño del depto 402, torre B. " + "ñ" * 2_000_000
    started = time.monotonic()
    found = classify(Config(), subject="Ayuda", text=text, sender="vecina@correo.example")
    assert time.monotonic() - started < 1.0
    assert (found.category, found.unit) == ("mantenimiento", "torre B, depto 402")


def test_one_search_per_rule_counts_as_a_search_per_word() -> None:
    """The combined search finds the same words as one search a word, overlaps and accents too."""
    words = ("agua", "fuga de agua", "fuga", "baño", "ñandú", "gas")
    texts = [
        "hay una fuga de agua en el bano",
        "aguas abajo, sin fugas",
        "el nandu del patio",
        "",
        "gas, agua y fuga",
    ]
    for text in texts:
        folded = fold(text)
        each = sum(1 for w in words if classify_module._word_pattern(w).search(folded))
        assert classify_module._matches(folded, words) == each, text
    assert classify_module._matches(fold("fuga de agua"), words) == 3
