"""Open or closed now: the desk's business calendar at a given moment, and whom to call."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from maildesk import config as config_mod
from maildesk.config import ConfigError
from maildesk.sla.open_now import open_now

CONTACTS = ["Conserjería: +56 2 2345 6789", "Gas (emergencias): 800 123 456"]


def _config(tmp_path: Path, extra: str = "") -> config_mod.Config:
    path = tmp_path / "maildesk.toml"
    path.write_text(
        '[desk]\ntimezone = "America/Santiago"\nsecret_key = "x"\n'
        f"emergency_contacts = {CONTACTS!r}\n{extra}".replace("'", '"'),
        encoding="utf-8",
    )
    return config_mod.load(path)


def test_monday_morning_is_open(tmp_path: Path) -> None:
    """Monday 30 Nov 2026, 10:00 in Santiago (13:00 UTC): open, nothing to wait for."""
    found = open_now(_config(tmp_path), datetime(2026, 11, 30, 13, 0, tzinfo=UTC))
    assert found.open and found.next_opening is None
    assert found.contacts == tuple(CONTACTS)


def test_saturday_is_closed_until_monday_at_nine(tmp_path: Path) -> None:
    """Saturday 28 Nov 2026 at noon in Santiago: closed, opens Monday 09:00 local (12:00 UTC)."""
    found = open_now(_config(tmp_path), datetime(2026, 11, 28, 15, 0, tzinfo=UTC))
    assert not found.open
    assert found.next_opening == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_holiday_monday_opens_on_tuesday(tmp_path: Path) -> None:
    """An extra holiday on Monday moves the next opening to Tuesday."""
    config = _config(tmp_path, '[calendar]\nholidays = ["2026-11-30"]\n')
    found = open_now(config, datetime(2026, 11, 28, 15, 0, tzinfo=UTC))
    assert found.next_opening == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_bad_list_hours_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="web.list_hours"):
        _config(tmp_path, "[web]\nlist_hours = 0\n")
