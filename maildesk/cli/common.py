"""What every command shares: opening the desk, exit codes, dates and output."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from maildesk import config as config_mod
from maildesk.context import Desk, open_desk

log = logging.getLogger("maildesk")

EX_TEMPFAIL = 75
EX_CONFIG = 78


def desk_of(args: argparse.Namespace, *, upgrade: bool = False) -> Desk:
    """The desk of `--config`; only the commands that may migrate pass `upgrade`."""
    cfg = config_mod.load(Path(args.config) if args.config else None)
    return open_desk(cfg, upgrade=upgrade)


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


def wrong_desk(slug: str | None, desk: Desk) -> str | None:
    """Why `--desk SLUG` does not name this desk, or None when it does (or is absent)."""
    from maildesk.reports import desk_names

    if not slug or slug.strip().lower() in desk_names(desk.config):
        return None
    return f"--desk: {slug!r} is not this desk ({', '.join(desk_names(desk.config))})"
