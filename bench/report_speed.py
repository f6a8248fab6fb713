"""How long the full year's `maildesk report` takes, against plain scans of the same data.

    .venv/bin/python bench/report_speed.py [--tickets 100000] [--messages 500000] \
        [--database sqlite|postgresql|both] [--year 2026]

Generates the year with bench/generate_history.py into a fresh desk on each
database, then times, in the same run:

- baseline `count(*)`: `SELECT count(*)` of the tickets and of their events;
- baseline full scan: every row of the tables the report reads (ticket, event,
  participant) fetched into Python;
- report: `reports.report_for` over the whole year by month, every table
  (volume, times in calendar and business time, compliance, backlog, recurrence,
  quality, ratings, slowest): what `maildesk report --by month` computes before
  writing it out.

Prints each time and the ratio report / full scan (how many full scans a report
costs). Each figure is the best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_history import best, databases, generated  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from maildesk.context import Desk  # noqa: E402
from maildesk.models import Event, Participant, Ticket  # noqa: E402
from maildesk.reports import By, report_for  # noqa: E402


def count_all(desk: Desk) -> None:
    with desk.db.read_only() as session:
        session.scalar(select(func.count()).select_from(Ticket))
        session.scalar(select(func.count()).select_from(Event))


def scan_all(desk: Desk) -> None:
    with desk.db.read_only() as session:
        for table in (Ticket, Event, Participant):
            for _ in session.execute(select(table.__table__)).yield_per(10_000):
                pass


def measure(database: str, tickets: int, messages: int, year: int, repeat: int) -> None:
    with generated(
        f"maildesk-report-{database}-",
        tickets=tickets,
        messages=messages,
        database=database,
        year=year,
    ) as made:
        desk = made.desk
        first, last = date(year, 1, 1), date(year, 12, 31)
        count = best(lambda: count_all(desk), repeat)
        scan = best(lambda: scan_all(desk), repeat)
        report = best(lambda: report_for(desk, first, last, By.MONTH), repeat)
        print(
            f"tickets: {made.tickets}, messages: {made.messages}, events: {made.events},"
            f" database: {database} (generated in {made.seconds:.1f} s)"
        )
        print(f"baseline  SELECT count(*) ticket, event        : {count:8.3f} s")
        print(f"baseline  full scan ticket, event, participant : {scan:8.3f} s")
        print(
            f"maildesk  report {first} … {last} by month  : {report:8.3f} s"
            f"  {made.tickets / report:8.0f} tickets/s"
        )
        print(f"ratio report/full scan: {report / scan:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3)
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    for kind in databases(args.database):
        measure(kind, args.tickets, args.messages, args.year, args.repeat)


if __name__ == "__main__":
    main()
