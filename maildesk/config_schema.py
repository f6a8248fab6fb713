"""The configuration's schema as shipped data (`defaults.toml`), and the starter file made from it.

Every key's default and meaning live once, in `defaults.toml`: `config.py` takes its
defaults from here and `maildesk init` writes its commented starter `maildesk.toml`
from here, so neither can forget a key the other knows.
"""

from __future__ import annotations

import json
import re
import textwrap
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

NO_DEFAULT: Any = object()


@dataclass(frozen=True, slots=True)
class Key:
    """One configuration key: its default (or `NO_DEFAULT`), its meaning, an example value."""

    name: str
    default: Any
    doc: str
    example: Any


@dataclass(frozen=True, slots=True)
class Section:
    """A top-level table of the configuration file and how the starter file shows it."""

    name: str
    about: str
    keys: tuple[Key, ...]
    optional: bool = False
    array: bool = False
    named: bool = False
    mapping: bool = False
    builtin: Mapping[str, Mapping[str, Any]] | None = None


def _load() -> dict[str, Section]:
    data = tomllib.loads(files("maildesk").joinpath("defaults.toml").read_text(encoding="utf-8"))
    return {
        name: Section(
            name=name,
            about=body["about"],
            keys=tuple(
                Key(key, spec.get("default", NO_DEFAULT), spec["doc"], spec.get("example"))
                for key, spec in body["keys"].items()
            ),
            optional=body.get("optional", False),
            array=body.get("array", False),
            named=body.get("named", False),
            mapping=body.get("mapping", False),
            builtin=body.get("builtin"),
        )
        for name, body in data.items()
    }


SCHEMA: Mapping[str, Section] = _load()


def default(section: str, key: str) -> Any:
    """The shipped default of `section.key`, lists as tuples (config values are immutable)."""
    value = next(k.default for k in SCHEMA[section].keys if k.name == key)
    if value is NO_DEFAULT:
        raise KeyError(f"{section}.{key} has no default")
    return tuple(value) if isinstance(value, list) else value


def builtin(section: str) -> Mapping[str, Mapping[str, Any]]:
    """The built-in named tables of `section` (the default priorities or categories)."""
    return SCHEMA[section].builtin or {}


def toml_value(value: Any) -> str:
    """A TOML literal for the value kinds the configuration uses."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    # A JSON string (without ASCII escaping, so accents stay readable) is a TOML basic string.
    return json.dumps(str(value), ensure_ascii=False)


def _table_name(name: str) -> str:
    """A bare TOML key when it can be one; "paquetería" needs quotes."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else toml_value(name)


def _line(key: str, value: Any, doc: str, *, commented: bool) -> Iterator[str]:
    """`key = value  # doc`; a long value gets its comment above and one list item a line."""
    prefix = "# " if commented else ""
    text = f"{prefix}{key} = {toml_value(value)}"
    if len(text) <= 44:
        yield f"{text:<44} # {doc}" if doc else text
        return
    if doc:
        yield f"# {doc}"
    if isinstance(value, list | tuple) and value:
        yield f"{prefix}{key} = ["
        row = ""
        for item in value:
            piece = toml_value(item) + ","
            if row and len(row) + len(piece) + 1 > 84:
                yield f"{prefix}    {row}"
                row = ""
            row = f"{row} {piece}" if row else piece
        yield f"{prefix}    {row}"
        yield f"{prefix}]"
    else:
        yield text


def _section(section: Section, overrides: Mapping[str, Any]) -> Iterator[str]:
    yield ""
    yield from textwrap.wrap(section.about, 88, initial_indent="# ", subsequent_indent="# ")
    if section.array:
        yield f"# [[{section.name}]]"
        for key in section.keys:
            value = key.example if key.example is not None else key.default
            yield from _line(key.name, value, key.doc, commented=True)
        return
    if section.mapping:
        # Free keys (slug = "label"): the keys are examples, the whole table optional.
        yield f"# [{section.name}]"
        for key in section.keys:
            yield from _line(key.name, key.example, key.doc, commented=True)
        return
    if section.named:
        keys = "Keys: " + "; ".join(f"{k.name}, {k.doc}" for k in section.keys) + "."
        yield from textwrap.wrap(keys, 88, initial_indent="# ", subsequent_indent="# ")
        # Without built-in tables, one example table shows the keys.
        tables = builtin(section.name) or {
            "ejemplo": {k.name: k.example for k in section.keys if k.example is not None}
        }
        for name, body in tables.items():
            yield f"# [{section.name}.{_table_name(name)}]"
            for key in section.keys:
                yield from _line(key.name, body.get(key.name, key.default), "", commented=True)
        return
    yield f"# [{section.name}]" if section.optional else f"[{section.name}]"
    for key in section.keys:
        value = overrides.get(f"{section.name}.{key.name}", key.default)
        if section.optional and key.example is not None:
            value = key.example
        yield from _line(key.name, value, key.doc, commented=section.optional)


def starter_config(secret: str, *, overrides: Mapping[str, Any] | None = None) -> str:
    """The commented starter `maildesk.toml` of `maildesk init`: every key, with its default.

    `overrides` (such as ``{"desk.data_dir": "/var/lib/maildesk"}``) replace a default;
    `secret` becomes `desk.secret_key`.
    """
    values = {"desk.secret_key": secret, **(overrides or {})}
    lines = [
        "# maildesk configuration, written by `maildesk init`. Every key is here with its",
        "# default. Any key can also come from the environment as MAILDESK_<SECTION>_<KEY>",
        "# (MAILDESK_IMAP_PASSWORD, MAILDESK_SMTP_PASSWORD …), so secrets need not live here.",
    ]
    for section in SCHEMA.values():
        lines.extend(_section(section, values))
    return "\n".join(lines) + "\n"
