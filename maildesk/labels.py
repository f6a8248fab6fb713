"""The words a person reads for stored names, per desk language (pure).

Tickets store Spanish names (`en_progreso`, `alta`, `paquetería`, `torre B, depto
402`); mails, the status page and the CLI show them through here, so a desk with
`language = "en"` never shows a Spanish word of ours. Spanish comes first. Names an
operator configured that are not in these tables are shown as written: we never
guess a translation of someone else's word.

States have two vocabularies: the staff's short names below (the words of
`#estado`, the README and the CLI), and the residents' sentences in
`domain.STATE_WORDS`. `state_of` reads any of them, in either language, with or
without accents or case, so a word already put into a mail's context is still
understood.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from maildesk.domain import STATE_WORDS, State
from maildesk.text import fold
from maildesk.tickets.states import flow_step

LANGUAGES = ("es", "en")

STATE_LABELS: Mapping[str, Mapping[State, str]] = MappingProxyType(
    {
        "es": {
            State.RECIBIDO: "recibido",
            State.EN_PROGRESO: "en progreso",
            State.EN_ESPERA: "en espera",
            State.VALIDACION: "validación",
            State.CERRADO: "cerrado",
        },
        "en": {
            State.RECIBIDO: "received",
            State.EN_PROGRESO: "in progress",
            State.EN_ESPERA: "waiting",
            State.VALIDACION: "validation",
            State.CERRADO: "closed",
        },
    }
)

# Other words people use for a state (the staff's `#estado` and the CLI accept them).
_STATE_ALIASES: Mapping[State, tuple[str, ...]] = MappingProxyType(
    {
        State.RECIBIDO: ("nuevo", "nueva", "recibida", "new"),
        State.EN_PROGRESO: ("en ejecucion", "in progress"),
        State.EN_ESPERA: ("espera", "on hold"),
        State.VALIDACION: ("en validacion", "resuelto", "resuelta", "resolved"),
        State.CERRADO: ("cerrada",),
    }
)

PRIORITY_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {"alta": "alta", "media": "media", "baja": "baja"},
        "en": {"alta": "high", "media": "medium", "baja": "low"},
    }
)

# The built-in categories (config.DEFAULT_CATEGORIES) and the fallback one.
CATEGORY_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {
            "mantenimiento": "mantenimiento",
            "convivencia": "convivencia",
            "seguridad": "seguridad",
            "paquetería": "paquetería",
            "accesos": "accesos",
            "amenidades": "amenidades",
            "administración": "administración",
            "general": "general",
        },
        "en": {
            "mantenimiento": "maintenance",
            "convivencia": "neighbour relations",
            "seguridad": "security",
            "paquetería": "parcels",
            "accesos": "access",
            "amenidades": "amenities",
            "administración": "administration",
            "general": "general",
        },
    }
)

# The teams the built-in categories and `desk.default_team` name.
TEAM_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {
            "mantenimiento": "mantenimiento",
            "administración": "administración",
            "seguridad": "seguridad",
            "recepción": "recepción",
        },
        "en": {
            "mantenimiento": "maintenance",
            "administración": "administration",
            "seguridad": "security",
            "recepción": "front desk",
        },
    }
)

# Where a request came from (`domain.Channel`): the report's volume by channel.
CHANNEL_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {
            "email": "correo",
            "phone": "teléfono",
            "walk-in": "presencial",
            "web": "web",
            "whatsapp": "WhatsApp",
            "other": "otro",
        },
        "en": {
            "email": "email",
            "phone": "phone",
            "walk-in": "walk-in",
            "web": "web",
            "whatsapp": "WhatsApp",
            "other": "other",
        },
    }
)

# The history events staff mails show (escalations list a ticket's last ones).
EVENT_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {
            "created": "creada",
            "state": "cambio de estado",
            "assigned": "asignada",
            "reply": "respuesta",
            "unit": "unidad",
            "type": "tipo",
            "starts_on": "fecha de inicio",
            "deadline": "fecha límite",
            "cause": "causa final",
            "address_bouncing": "dirección rechazada por el servidor de correo",
            "kb_suggested": "artículos sugeridos al residente",
            "kb_article": "agregada a la base de conocimiento",
        },
        "en": {
            "created": "created",
            "state": "state change",
            "assigned": "assigned",
            "reply": "reply",
            "unit": "unit",
            "type": "type",
            "starts_on": "start date",
            "deadline": "deadline",
            "cause": "final cause",
            "address_bouncing": "address refused by the mail server",
            "kb_suggested": "articles suggested to the resident",
            "kb_article": "added to the knowledge base",
        },
    }
)

# A person's relation to a unit (`domain.Relation`).
RELATION_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {"owner": "propietario", "tenant": "arrendatario", "other": "otro"},
        "en": {"owner": "owner", "tenant": "tenant", "other": "other"},
    }
)

ROLE_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {
            "agent": "agente",
            "supervisor": "supervisor",
            "manager": "gerente",
            "director": "director",
            "admin": "administrador",
        },
        "en": {r: r for r in ("agent", "supervisor", "manager", "director", "admin")},
    }
)

# The place words `classify.find_unit` stores ("torre B, depto 402"), in English.
UNIT_WORDS_EN: Mapping[str, str] = MappingProxyType(
    {
        "torre": "tower",
        "block": "block",
        "edificio": "building",
        "piso": "floor",
        "depto": "apt.",
        "unidad": "unit",
        "casa": "house",
        "oficina": "office",
        "local": "shop",
        "bodega": "storage unit",
        "estacionamiento": "parking space",
    }
)


_WORD = re.compile(r"[^\W_]+")


def key(text: str) -> str:
    """Words only, lower case, no accents: "En_Progreso" -> "en progreso"."""
    return " ".join(_WORD.findall(fold(text)))


def _state_table() -> Mapping[str, State]:
    table: dict[str, State] = {}
    for state in State:
        names = [state.value, *_STATE_ALIASES[state]]
        names += [STATE_LABELS[lang][state] for lang in LANGUAGES]
        names += [STATE_WORDS[lang][state.value] for lang in LANGUAGES]
        table.update((key(name), state) for name in names)
    return MappingProxyType(table)


# Every word for a state, folded -> the state.
STATE_NAMES: Mapping[str, State] = _state_table()


def _language(language: str) -> str:
    return language if language in LANGUAGES else LANGUAGES[0]


def state_of(text: str) -> State | None:
    """The state a word names (stored, staff or resident words, either language), or None."""
    return STATE_NAMES.get(key(text))


def state_label(name: str, language: str) -> str:
    """A state in the staff's words; a word that names no state is shown as written."""
    state = state_of(name)
    return STATE_LABELS[_language(language)][state] if state is not None else name


def state_labels(language: str) -> tuple[str, ...]:
    """Every state's staff word, in the state machine's order."""
    return tuple(STATE_LABELS[_language(language)][s] for s in State)


_TABLES: Mapping[str, Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "priority": PRIORITY_LABELS,
        "category": CATEGORY_LABELS,
        "team": TEAM_LABELS,
        "channel": CHANNEL_LABELS,
        "event": EVENT_LABELS,
        "relation": RELATION_LABELS,
        "role": ROLE_LABELS,
    }
)


@cache
def _folded(table: str, language: str) -> Mapping[str, str]:
    """A table's words by their folded stored name, folded once: a page of rows looks up
    every row's names in them."""
    words = _TABLES[table][language]
    return MappingProxyType({key(stored): label for stored, label in words.items()})


def _from_table(table: str, name: str, language: str) -> str:
    found = _folded(table, _language(language)).get(key(name))
    return found if found is not None else name


_STEP = {"es": "paso {step} de {steps}: {state}", "en": "step {step} of {steps}: {state}"}


def progress_label(name: str, language: str) -> str:
    """A state's place in the flow in words: "paso 2 de 5: en progreso"."""
    state = State(name)
    step, steps = flow_step(state)
    words = _STEP[_language(language)]
    return words.format(step=step, steps=steps, state=STATE_LABELS[_language(language)][state])


def priority_label(name: str, language: str) -> str:
    return _from_table("priority", name, language)


def category_label(name: str, language: str) -> str:
    return _from_table("category", name, language)


def team_label(name: str, language: str) -> str:
    return _from_table("team", name, language)


def channel_label(name: str, language: str) -> str:
    return _from_table("channel", name, language)


def event_label(name: str, language: str) -> str:
    return _from_table("event", name, language)


def relation_label(name: str, language: str) -> str:
    return _from_table("relation", name, language)


def role_label(name: str, language: str) -> str:
    return _from_table("role", name, language)


def unit_label(unit: str, language: str) -> str:
    """A stored unit in the reader's words: "torre B, depto 402" -> "tower B, apt. 402"."""
    if _language(language) == "es":
        return unit
    parts = []
    for part in unit.split(", "):
        word, space, rest = part.partition(" ")
        english = UNIT_WORDS_EN.get(key(word))
        parts.append(f"{english}{space}{rest}" if english is not None and space else part)
    return ", ".join(parts)
