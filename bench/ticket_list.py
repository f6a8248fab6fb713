"""`maildesk ticket list` on a desk of N tickets: time and peak memory, against the old
unpaged listing.

    .venv/bin/python bench/ticket_list.py --tickets 100000 [--database sqlite|postgresql]

Generates the history (`generate_history.generate`) and runs each listing as a process
of its own, so its peak RSS is its own:

- baseline: the listing before paging, written here as the reference — every ticket
  read as an object with its unit, made a row, worded, one table of them all;
- `maildesk ticket list`: the first page of 50 and its footer;
- `maildesk ticket list --format json`: every ticket, streamed;

and `maildesk --help`, the command's start-up alone, which both listings include.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_history import drop, generate  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import selectinload  # noqa: E402

from maildesk import config as config_mod  # noqa: E402
from maildesk.cli import read as views  # noqa: E402
from maildesk.context import open_desk  # noqa: E402
from maildesk.models import Ticket  # noqa: E402


def old_listing(config: Path) -> None:
    """The unpaged `ticket list` table as it was: run in a child (`--old CONFIG`)."""
    desk = open_desk(config_mod.load(config), upgrade=False)
    with desk.db.read_only() as session:
        query = (
            select(Ticket)
            .where(Ticket.desk_id == desk.desk_id)
            .options(selectinload(Ticket.directory_unit))
            .order_by(Ticket.number.desc())
        )
        rows = [views.ticket_summary(t) for t in session.scalars(query)]
    worded = [views.worded(row, desk.language) for row in rows]
    with redirect_stdout(io.StringIO()):
        print(views.table(worded))


# Runs its arguments as a child and prints the child's seconds and peak RSS (KiB). Linux
# keeps the RSS peak across fork and exec, so the child of a large process would report
# that process's size: this launcher is small.
LAUNCHER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def measured(label: str, argv: list[str]) -> tuple[float, float]:
    """Run `argv`, its output thrown away; print and return (seconds, peak RSS in MB)."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv], capture_output=True, text=True, check=True
    )
    seconds_text, kib = done.stdout.split()
    seconds, peak = float(seconds_text), int(kib) / 1024
    print(f"{label:<44}: {seconds:8.3f} s  {peak:7.1f} MB peak")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--old", type=Path, help=argparse.SUPPRESS)
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    if args.old:
        old_listing(args.old)
        return
    with tempfile.TemporaryDirectory(prefix="maildesk-list-") as tmp:
        made = generate(
            Path(tmp), tickets=args.tickets, messages=args.tickets, database=args.database
        )
        made.desk.db.dispose()
        config = str(Path(tmp) / "maildesk.toml")
        try:
            print(
                f"tickets: {made.tickets}, database: {args.database}"
                f" (generated in {made.seconds:.1f} s)"
            )
            cli = [sys.executable, "-m", "maildesk", "--config", config, "ticket", "list"]
            old = measured(
                "baseline  old unpaged list (table)", [sys.executable, __file__, "--old", config]
            )
            measured("start-up  maildesk --help", [sys.executable, "-m", "maildesk", "--help"])
            paged = measured("maildesk  ticket list (first page)", cli)
            whole = measured(
                "maildesk  ticket list --format json (all)", [*cli, "--format", "json"]
            )
            print(
                f"ratio page/baseline: time {paged[0] / old[0]:.3f}, memory {paged[1] / old[1]:.2f}"
            )
            print(
                f"ratio json/baseline: time {whole[0] / old[0]:.3f}, memory {whole[1] / old[1]:.2f}"
            )
        finally:
            drop(made.pg_name)


if __name__ == "__main__":
    main()
