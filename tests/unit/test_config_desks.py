"""`[[desks]]`: several buildings in one file, each complete, inheriting the top level."""

from __future__ import annotations

from pathlib import Path

import pytest

from maildesk.config import load, load_install
from maildesk.errors import ConfigError

TOP = """
[desk]
database = "sqlite:///todo.db"
data_dir = "datos"
language = "es"
[imap]
host = "imap.firma.example"
port = 143
[categories.ascensores]
keywords = ["ascensor"]
[[staff]]
email = "gerente@firma.example"
role = "manager"
teams = ["administración"]
"""
NORTE = """
[[desks]]
slug = "norte"
name = "Torre Norte"
address = "norte@firma.example"
base_url = "https://norte.firma.example"
[desks.imap]
username = "norte"
[[desks.staff]]
email = "ana@firma.example"
name = "Ana Pérez"
teams = ["administración"]
"""
SUR = """
[[desks]]
slug = "sur"
name = "Torre Ñandú Sur"
address = "sur@firma.example"
base_url = "https://sur.firma.example"
language = "en"
[desks.imap]
username = "sur"
[desks.categories.piscina]
keywords = ["piscina"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "maildesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_desk_is_complete_and_inherits_what_it_does_not_set(tmp_path: Path) -> None:
    install = load_install(write(tmp_path, TOP + NORTE + SUR))
    assert install.slugs == ("norte", "sur")
    norte, sur = install.desks
    assert install.by_slug("sur") is sur and install.by_address("NORTE@firma.example") is norte
    assert install.by_slug("oeste") is None
    assert (norte.desk.language, sur.desk.language) == ("es", "en")
    assert sur.desk.name == "Torre Ñandú Sur"
    assert norte.imap is not None and sur.imap is not None
    assert (norte.imap.host, norte.imap.port, norte.imap.username) == (
        "imap.firma.example",
        143,
        "norte",
    )
    assert sur.imap.username == "sur"
    # Top-level staff serve every building; a desk's own staff only theirs.
    assert [s.email for s in norte.staff] == ["ana@firma.example", "gerente@firma.example"]
    assert [s.email for s in sur.staff] == ["gerente@firma.example"]
    assert "ascensores" in norte.categories and "ascensores" in sur.categories
    assert "piscina" in sur.categories and "piscina" not in norte.categories
    # One database for all; each desk's files in a folder of its own.
    assert norte.database_url == sur.database_url == f"sqlite:///{tmp_path / 'todo.db'}"
    assert (norte.data_path, sur.data_path) == (tmp_path / "datos/norte", tmp_path / "datos/sur")


def test_one_desk_file_is_unchanged_and_its_slug_is_default(tmp_path: Path) -> None:
    path = write(tmp_path, TOP)
    assert load(path).desk.slug == "default"
    assert load_install(path).desks == (load(path),)


def test_load_of_several_desks_asks_for_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"desks: expected one desk .*--desk: norte, sur"):
        load(write(tmp_path, TOP + NORTE + SUR))


@pytest.mark.parametrize(
    ("extra", "key", "expected"),
    [
        ("[desks.imap]\nport = 'x'\n", "desks[1].imap.port", "an integer"),
        ("database = 'sqlite:///sur.db'\n", "desks[1].database", "no database of its own"),
        ("data_dir = 'sur'\n", "desks[1].data_dir", "no data_dir of its own"),
        ("timezone = 'Marte/Olympus'\n", "desks[1].timezone", "IANA time zone"),
        ("colour = 'rojo'\n", "desks[1].colour", "one of the known keys"),
    ],
)
def test_a_desks_error_names_its_index_and_key(
    tmp_path: Path, extra: str, key: str, expected: str
) -> None:
    sur = SUR.replace('[desks.imap]\nusername = "sur"\n', "")
    # A key of the desk's own table goes before its sub-tables; a sub-table at the end.
    sur = sur + extra if extra.startswith("[") else sur.replace('"sur"\n', f'"sur"\n{extra}', 1)
    with pytest.raises(ConfigError) as caught:
        load_install(write(tmp_path, TOP + NORTE + sur))
    assert (caught.value.source, caught.value.key) == (str(tmp_path / "maildesk.toml"), key)
    assert expected in caught.value.expected


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('slug = "sur"', 'slug = "norte"', "desks[1].slug"),
        ('slug = "sur"', 'slug = "Sur Ñ"', "desks[1].slug"),
        ('slug = "sur"\n', "", "desks[1].slug"),
        ('address = "sur@', 'address = "norte@', "desks[1].address"),
        ("https://sur.firma", "https://norte.firma", "desks[1].base_url"),
        ('username = "sur"', 'username = "norte"', "desks[1].imap.username"),
    ],
)
def test_what_belongs_to_one_desk_is_refused_twice(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_install(write(tmp_path, TOP + NORTE + SUR.replace(old, new)))
    assert caught.value.key == key


def test_a_desks_own_environment_wins_over_the_install_wide_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILDESK_IMAP_PASSWORD", "de-todos")
    monkeypatch.setenv("MAILDESK_DESKS_NORTE_IMAP_PASSWORD", "sólo-norte")
    norte, sur = load_install(write(tmp_path, TOP + NORTE + SUR)).desks
    assert norte.imap is not None and sur.imap is not None
    assert (norte.imap.password, sur.imap.password) == ("sólo-norte", "de-todos")


def test_an_install_wide_variable_does_not_override_what_a_desk_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILDESK_DESK_ADDRESS", "todos@firma.example")
    monkeypatch.setenv("MAILDESK_IMAP_USERNAME", "todos")
    monkeypatch.setenv("MAILDESK_DESKS_SUR_DESK_ADDRESS", "torre-sur@firma.example")
    norte, sur = load_install(write(tmp_path, TOP + NORTE + SUR)).desks
    assert (norte.desk.address, sur.desk.address) == (
        "norte@firma.example",
        "torre-sur@firma.example",
    )
    assert norte.imap is not None and norte.imap.username == "norte"
