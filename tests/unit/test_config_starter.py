"""One source of defaults: the starter file of `maildesk init` and the config's defaults agree."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from maildesk import config
from maildesk.cli import main
from maildesk.config import Config, load
from maildesk.config_schema import NO_DEFAULT, SCHEMA

# A commented-out setting of the starter: a table header, `key = value`, a list's
# continuation line or its closing bracket (prose comments are none of these).
SETTING = re.compile(r'^# ?(\[.+\]|\w+ = .*|\s+".*|\])$')

TABLES: dict[str, type] = {
    **config._SECTIONS,
    "staff": config.StaffConfig,
    "priorities": config.PriorityConfig,
    "categories": config.CategoryConfig,
    "routes": config.RouteConfig,
    "types": config.TypeConfig,
}


def uncommented(text: str) -> dict[str, Any]:
    """The starter with every commented-out setting switched on."""
    return tomllib.loads("\n".join(SETTING.sub(r"\1", line) for line in text.splitlines()))


def keys_of(table: Any) -> set[str]:
    if isinstance(table, list):
        return {key for entry in table for key in entry}
    if all(isinstance(v, dict) for v in table.values()):  # named tables
        return {key for body in table.values() for key in body}
    return set(table)


def starter_causes(starter: dict[str, Any]) -> str:
    lines = "\n".join(f'{slug} = "{label}"' for slug, label in starter["causes"].items())
    return f"[causes]\n{lines}\n"


def load_text(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "causes.toml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def init(tmp_path: Path, *args: str) -> Path:
    assert main(["init", str(tmp_path), *args]) == 0
    return tmp_path / "maildesk.toml"


def test_starter_documents_every_key_of_the_schema(tmp_path: Path) -> None:
    """The starter written by `maildesk init` names every key of every section of the config."""
    starter = uncommented(init(tmp_path).read_text(encoding="utf-8"))
    assert set(starter) == set(TABLES) | {"causes"}
    # [causes] is free slug = "label" lines: its example loads as a list of causes.
    assert load_text(tmp_path, starter_causes(starter)).causes
    for section, cls in TABLES.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        assert keys_of(starter[section]) == fields, section


def test_starter_loads_back_to_the_defaults(tmp_path: Path) -> None:
    """`maildesk init`'s file, loaded, is the embedded defaults (plus its fresh secret)."""
    loaded = load(init(tmp_path))
    embedded = Config()
    assert len(loaded.desk.secret_key) >= 40
    assert dataclasses.replace(loaded.desk, secret_key="") == embedded.desk
    for section in ("smtp", "web", "calendar", "escalation"):
        assert getattr(loaded, section) == getattr(embedded, section), section
    assert loaded.imap is None and loaded.listener == config.ListenerConfig()
    assert (loaded.staff, loaded.routes) == ((), ())
    assert dict(loaded.priorities) == dict(embedded.priorities)
    assert dict(loaded.categories) == dict(embedded.categories)


def test_starter_with_every_setting_on_is_the_built_in_data(tmp_path: Path) -> None:
    """The built-in priorities and categories shown (commented) in the starter are the ones in force."""
    path = tmp_path / "all.toml"
    text = init(tmp_path).read_text(encoding="utf-8")
    switched_on = "\n".join(SETTING.sub(r"\1", line) for line in text.splitlines())
    path.write_text(switched_on, encoding="utf-8")
    loaded = load(path)
    assert dict(loaded.priorities) == dict(config.DEFAULT_PRIORITIES)
    assert dict(loaded.categories) == dict(config.DEFAULT_CATEGORIES)
    assert "Pérez" in text and "paquetería" in text and "mié" in text


def test_every_shipped_default_has_its_keys_type() -> None:
    """Each default in defaults.toml converts to its key's type as if an operator had written it."""
    for section, cls in config._SECTIONS.items():
        shipped = {
            key.name: key.default for key in SCHEMA[section].keys if key.default is not NO_DEFAULT
        }
        assert config._build(cls, shipped, section, "defaults.toml", None) == cls(), section


def test_init_data_dir_puts_database_and_data_there(tmp_path: Path) -> None:
    """`init --data-dir DIR` writes a config whose database and data_dir are in DIR."""
    state = tmp_path / "state"
    state.mkdir()
    loaded = load(init(tmp_path / "etc", "--data-dir", str(state)))
    assert loaded.data_path == state
    assert loaded.database_url == f"sqlite:///{state / 'maildesk.db'}"
    assert (state / "maildesk.db").exists()


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[escalation]\nat_risk = true\n", "escalation.at_risk", "a number"),
        ("[escalation]\nmanager_after = 24\n", "escalation.manager_after", "a duration"),
        ("[web]\nlanguages = 'es'\n", "web.languages", "a list of strings"),
        ("[smtp]\nhost = 25\n", "smtp.host", "a string"),
        ("[listener]\nprotocol = 'pop3'\n", "listener.protocol", '"smtp", "lmtp"'),
    ],
)
def test_every_kind_of_value_names_what_was_expected(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    """Each kind of key (number, duration, list, string, choice) says what it expected."""
    path = tmp_path / "maildesk.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError) as info:
        load(path)
    assert info.value.key == key and expected in str(info.value) and str(path) in str(info.value)
