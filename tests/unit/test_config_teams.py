"""Teams nobody serves: a misspelt team is an error at load, not a silent fallback to the supervisors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from maildesk.config import load
from maildesk.errors import ConfigError

ANA = '[[staff]]\nemail = "ana@example.org"\nrole = "admin"\nteams = ["administración", "mantenimiento", "recepción", "seguridad"]\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "maildesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_staff_team_spelt_without_accent_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    """A staff team `administracion` while requests go to `administración` names the key and suggests the spelling."""
    path = write(tmp_path, '[[staff]]\nemail = "ana@example.org"\nteams = ["Administracion"]\n')
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.key == "staff[0].teams"
    assert str(path) in str(info.value)
    assert "did you mean 'administración'?" in str(info.value)
    assert "'Administracion'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        (
            '[[routes]]\nteam = "Seguridad"\nkeywords = ["robo"]\n',
            "routes[0].team",
            "seguridad",
        ),
        (
            '[categories.jardin]\nkeywords = ["pasto"]\nteam = "jardineria"\n',
            "categories.jardin.team",
            None,
        ),
        ('[desk]\ndefault_team = "RECEPCION"\n', "desk.default_team", "recepción"),
    ],
)
def test_a_team_written_in_the_file_that_nobody_is_in_is_an_error(
    tmp_path: Path, text: str, key: str, suggestion: str | None
) -> None:
    """A route, category or default team of the operator's file that no staff member is in stops the load."""
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, ANA.replace('"mantenimiento", ', "") + text))
    assert info.value.key == key
    assert "a team some [[staff]] member is in: administración, recepción, seguridad" in str(
        info.value
    )
    assert (f"did you mean '{suggestion}'?" in str(info.value)) == (suggestion is not None)


def test_one_admin_starts_and_is_warned_about_built_in_teams(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lone admin still starts; the built-in categories' teams nobody is in are logged as warnings."""
    path = write(
        tmp_path,
        '[[staff]]\nemail = "ana@example.org"\nrole = "admin"\nteams = ["administración"]\n',
    )
    with caplog.at_level(logging.WARNING, logger="maildesk.config"):
        config = load(path)
    assert config.staff[0].teams == ("administración",)
    warned = " ".join(r.getMessage() for r in caplog.records)
    for team in ("mantenimiento", "recepción", "seguridad"):
        assert f"no [[staff]] member is in team '{team}'" in warned
    assert "'administración'" not in warned


def test_a_staff_team_nothing_routes_to_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A staff team no category or route sends requests to is logged, and the config still loads."""
    with caplog.at_level(logging.WARNING, logger="maildesk.config"):
        load(write(tmp_path, ANA.replace('"seguridad"', '"seguridad", "jardinería"')))
    warned = [r.getMessage() for r in caplog.records]
    assert any("staff[0].teams" in m and "'jardinería'" in m for m in warned), warned
    assert not any("no [[staff]] member" in m for m in warned), warned


def test_every_team_served_loads_quietly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """When every routed team has a member and every member's team gets requests, nothing is logged."""
    text = ANA + '[[routes]]\nteam = "seguridad"\nunits = ["torre B"]\n'
    with caplog.at_level(logging.WARNING, logger="maildesk.config"):
        load(write(tmp_path, text))
    assert caplog.records == []
