"""What a request records (type, medium, dates, final cause) and the rules around it, pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import pytest

from maildesk.config import (
    DEFAULT_CATEGORIES,
    CategoryConfig,
    Config,
    DeskConfig,
    Duration,
    TypeConfig,
    load,
)
from maildesk.domain import State
from maildesk.errors import ConfigError
from maildesk.records import medium_choices, parse_day, type_choices
from maildesk.sla.policy import RESOLUTION, Facts, desk_calendar, statuses
from maildesk.tickets.staff import closing_refusal

OPENED = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # a Monday, 10:00 in Santiago
TYPES = MappingProxyType(
    {
        "reclamo": TypeConfig(
            name="Reclamo",
            name_en="Complaint",
            hint="Indica la unidad y desde cuándo.",
            hint_en="Say which unit and since when.",
            category="convivencia",
            deadline=Duration.parse("8h"),
        ),
        "consulta": TypeConfig(name="Consulta", hint="Escribe tu pregunta."),
    }
)
CONFIG = Config(types=TYPES, causes=MappingProxyType({"desgaste": "Desgaste normal"}))


def facts(**changes: object) -> Facts:
    base = Facts(
        number=1,
        priority="media",
        opened_at=OPENED,
        history=[(OPENED, State.RECIBIDO)],
        first_response_at=None,
        resolved_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def due(config: Config, found: Facts, now: datetime = OPENED) -> datetime | None:
    return statuses(found, config, desk_calendar(config, now), now)[RESOLUTION].due_at


def test_type_deadline_replaces_the_priority_target() -> None:
    """A reclamo (8h) is due 8 hours after opening instead of media's 3 days; untyped stays 3 days."""
    assert due(CONFIG, facts()) == OPENED + timedelta(days=3)
    assert due(CONFIG, facts(kind="reclamo")) == OPENED + timedelta(hours=8)
    assert due(CONFIG, facts(kind="consulta")) == OPENED + timedelta(days=3)


def test_staff_deadline_is_the_end_of_that_day_and_never_pauses() -> None:
    """#plazo 2026-11-25 is due at midnight Santiago time (03:00 UTC in summer), even while waiting."""
    end = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert due(CONFIG, facts(deadline=date(2026, 11, 25), kind="reclamo")) == end
    waiting = facts(
        deadline=date(2026, 11, 25), history=[(OPENED, State.RECIBIDO), (OPENED, State.EN_ESPERA)]
    )
    later = OPENED + timedelta(days=1)
    assert due(CONFIG, waiting, later) == end
    late = statuses(waiting, CONFIG, desk_calendar(CONFIG, end), end + timedelta(hours=1))
    assert late[RESOLUTION].breached


def test_a_deadline_met_or_missed_by_the_resolution() -> None:
    """Resolved before the deadline's end is met; after it, missed."""
    day = date(2026, 11, 25)
    now = OPENED + timedelta(days=5)
    on_time = facts(deadline=day, resolved_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    too_late = facts(deadline=day, resolved_at=datetime(2026, 11, 26, 4, 0, tzinfo=UTC))
    assert statuses(on_time, CONFIG, desk_calendar(CONFIG, now), now)[RESOLUTION].met is True
    assert statuses(too_late, CONFIG, desk_calendar(CONFIG, now), now)[RESOLUTION].met is False


def evidence_config(*, cause: bool, attachment: bool) -> Config:
    categories = dict(DEFAULT_CATEGORIES)
    categories["mantenimiento"] = CategoryConfig(
        keywords=("fuga",), team="mantenimiento", require_note=True, require_attachment=attachment
    )
    return replace(
        CONFIG,
        desk=DeskConfig(require_cause_on_close=cause),
        categories=MappingProxyType(categories),
    )


@pytest.mark.parametrize(
    ("cause_rule", "attachment_rule", "cause", "note", "files", "code"),
    [
        (False, False, None, "listo", 0, None),
        (True, False, None, "listo", 0, "cause_required"),
        (True, False, "desgaste", "listo", 0, None),
        (False, False, None, "  ", 0, "evidence_note"),
        (False, True, None, "listo", 0, "evidence_attachment"),
        (False, True, None, "listo", 1, None),
        (True, True, None, "listo", 1, "cause_required"),
    ],
)
def test_closing_rules(
    cause_rule: bool,
    attachment_rule: bool,
    cause: str | None,
    note: str,
    files: int,
    code: str | None,
) -> None:
    """A closure needs the cause when the desk asks for it, and the category's note and file."""
    config = evidence_config(cause=cause_rule, attachment=attachment_rule)
    refused = closing_refusal(config, category="mantenimiento", cause=cause, note=note, files=files)
    assert (refused.code if refused else None) == code
    other = closing_refusal(config, category="convivencia", cause="desgaste", note="", files=0)
    assert other is None


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-05", date(2026, 12, 5)),
        ("5/12/2026", date(2026, 12, 5)),
        ("05-12-2026", date(2026, 12, 5)),
    ],
)
def test_parse_day(text: str, day: date) -> None:
    """ISO dates and Chilean day-first dates are read; anything else is a ValueError."""
    assert parse_day(text) == day


@pytest.mark.parametrize("text", ["mañana", "2026-13-01", "31/02/2026", "12/2026"])
def test_parse_day_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_day(text)


def test_types_with_hints_in_each_language() -> None:
    """The list whoever opens a request sees: names and hints, English falling back to Spanish."""
    assert [(t.slug, t.name, t.hint) for t in type_choices(CONFIG, "es")] == [
        ("reclamo", "Reclamo", "Indica la unidad y desde cuándo."),
        ("consulta", "Consulta", "Escribe tu pregunta."),
    ]
    assert [(t.name, t.hint) for t in type_choices(CONFIG, "en")] == [
        ("Complaint", "Say which unit and since when."),
        ("Consulta", "Escribe tu pregunta."),
    ]


def test_media_are_the_configured_list_in_words() -> None:
    """The default media in Spanish, and a label the operator added kept as written."""
    assert medium_choices(Config(), "es")[:3] == [
        ("email", "correo"),
        ("phone", "teléfono"),
        ("walk-in", "presencial"),
    ]
    added = Config(desk=DeskConfig(channels=("phone", "portería")))
    assert medium_choices(added, "en") == [("phone", "phone"), ("portería", "portería")]


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[types.x]\nname = "X"\ncategory = "plomería"\n', "types.x.category", "categories"),
        ('[types.x]\nname = "X"\ndeadline = "pronto"\n', "types.x.deadline", "duration"),
        ("[types.x]\nhint = 'sin nombre'\n", "types.x.name", "string"),
        ("[desk]\nrequire_cause_on_close = true\n", "causes", "at least one cause"),
        ("[causes]\nmal_uso = 3\n", "causes.mal_uso", "label"),
        ("[desk]\nchannels = []\n", "desk.channels", "intake media"),
    ],
)
def test_bad_records_config_names_file_key_and_expected(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    """Each mistake in [types], [causes] or the media names the file, the key and what was expected."""
    path = tmp_path / "maildesk.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert raised.value.source == str(path) and raised.value.key == key
    assert expected in raised.value.expected
