"""Docs that cannot rot: every command has help and is in the README, every config key too."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildesk import config
from maildesk.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*prefix, name), sub, helps.get(name) or ""
                yield from commands(sub, (*prefix, name))


ALL = list(commands(build_parser()))


def test_the_interface_commands_exist() -> None:
    """The operator contract of interface.md is all there."""
    names = {" ".join(path) for path, _, _ in ALL}
    assert names >= {
        "init",
        "run",
        "fetch",
        "ingest",
        "outbox send",
        "ticket list",
        "ticket show",
        "ticket open",
        "db upgrade",
    }


@pytest.mark.parametrize(("path", "parser", "help_text"), ALL, ids=[" ".join(p) for p, _, _ in ALL])
def test_every_command_has_help_and_is_in_the_readme(
    path: tuple[str, ...], parser: argparse.ArgumentParser, help_text: str
) -> None:
    """`maildesk <command>` has a help line and appears in the README."""
    assert help_text.strip(), f"{' '.join(path)} has no help"
    assert parser.format_help().strip()
    if parser._subparsers is None:  # leaf commands are the ones an operator types
        assert f"maildesk {' '.join(path)}" in README


@pytest.mark.parametrize(
    "section",
    [
        "desk",
        "imap",
        "smtp",
        "listener",
        "web",
        "log",
        "limits",
        "staff",
        "priorities",
        "categories",
        "routes",
    ],
)
def test_every_config_key_is_in_the_readme(section: str) -> None:
    """Each key of each section is documented in the README's configuration table."""
    tables = {
        "staff": config.StaffConfig,
        "priorities": config.PriorityConfig,
        "categories": config.CategoryConfig,
        "routes": config.RouteConfig,
    }
    cls = tables.get(section) or config._SECTIONS[section]
    for field in dataclasses.fields(cls):
        assert re.search(rf"`{field.name}`", README), (
            f"[{section}] {field.name} is not in the README"
        )


def test_readme_starts_with_the_two_commands() -> None:
    """A new user sees `make run` and `make test` first."""
    first = README.index("make run")
    assert (
        first < README.index("## Configure")
        and "make test" in README[: README.index("## Configure")]
    )
