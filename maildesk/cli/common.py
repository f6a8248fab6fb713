"""What every command shares: opening the desk, exit codes, dates and output."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maildesk.errors import ConfigError
from maildesk.text import fold

if TYPE_CHECKING:  # imported when a command runs: `maildesk --help` stays quick
    from maildesk import config as config_mod
    from maildesk.config import Config
    from maildesk.context import Desk

log = logging.getLogger("maildesk")

EX_TEMPFAIL = 75
EX_CONFIG = 78


def install_of(args: argparse.Namespace) -> config_mod.Install:
    """The install's configuration; its `[log]` table takes over the logging from here.

    Read once per command and kept on `args`: a command asks for it, then for its desks.
    """
    found: config_mod.Install | None = getattr(args, "loaded_install", None)
    if found is not None:
        return found
    from maildesk import config as config_mod
    from maildesk import logs

    install = config_mod.load_install(Path(args.config) if args.config else None)
    logs.apply(
        install.desks[0],
        cli_format=getattr(args, "log_format", None),
        verbose=getattr(args, "verbose", False),
    )
    args.loaded_install = install
    return install


def chosen(install: config_mod.Install, slug: str | None, *, one: bool) -> tuple[Config, ...]:
    """The desks of `--desk SLUG`; without it every desk, or (`one`) the only one there is.

    A command that changes tickets (`one`) on an install of several desks must say
    which; an unknown slug is an error that lists the valid ones.
    """
    valid = ", ".join(install.slugs)
    if slug:
        found = install.by_slug(slug.strip().lower())
        if found is None and len(install.desks) == 1:
            names = desk_names(install.desks[0])
            found = install.desks[0] if slug.strip().lower() in names else None
        if found is None:
            raise ConfigError(install.desks[0].source, "--desk", f"one of {valid}", repr(slug))
        return (found,)
    if one and len(install.desks) > 1:
        raise ConfigError(
            install.desks[0].source, "--desk", f"the desk to act on, one of {valid}", "nothing"
        )
    return install.desks


def desks_of(args: argparse.Namespace, *, upgrade: bool = False) -> tuple[Desk, ...]:
    """The desks a read command covers: the one of `--desk`, else every desk."""
    from maildesk.context import open_install

    install = install_of(args)
    wanted = {c.desk.slug for c in chosen(install, getattr(args, "desk", None), one=False)}
    return tuple(d for d in open_install(install, upgrade=upgrade) if d.slug in wanted)


def desk_of(args: argparse.Namespace, *, upgrade: bool = False) -> Desk:
    """The one desk of a command that changes tickets (`--desk` when there are several);
    only the commands that may migrate pass `upgrade`."""
    from maildesk.context import open_install

    install = install_of(args)
    (config,) = chosen(install, getattr(args, "desk", None), one=True)
    return next(d for d in open_install(install, upgrade=upgrade) if d.slug == config.desk.slug)


def with_desk(rows: list[dict[str, Any]], desk: Desk, several: bool) -> list[dict[str, Any]]:
    """Rows of one desk, led by a `desk` column when a command covers several."""
    return [{"desk": desk.slug, **row} for row in rows] if several else rows


def desk_names(config: Config) -> list[str]:
    """What `--desk` may say for a one-desk install: its slug, or (as before slugs) its
    name as a slug ("edificio-alameda-soporte"), its address's local part, its address."""
    address = config.desk.address.lower()
    name = re.sub(r"[^a-z0-9]+", "-", fold(config.desk.name)).strip("-")
    return [config.desk.slug, name, address.split("@")[0], address]


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def emit(data: bytes, output: str | None) -> None:
    if output:
        Path(output).write_bytes(data)
        print(f"wrote {output}")
    else:
        sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
