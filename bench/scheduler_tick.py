"""The scheduler's minute on a desk with a year of history: each pass sized by what is due.

    .venv/bin/python bench/scheduler_tick.py [--tickets 100000] \
        [--database sqlite|postgresql|both] [--repeat 5]

Generates the year (bench/generate_history.py, two messages a ticket) with what else a
year leaves (`metrics_scrape.add_mail_outbox_escalations`: stored mail, one confirmation
per ticket in the outbox, escalations), the confirmations sent across the year and
their bodies pruned by the passes of every day before, except one day's sent mail past
`limits.keep_sent_days`, which is due now. Then, in the same run:

- baseline: `SELECT count(*)` of the outbox, the history that a pass reading every row
  of it walks (the pruning did, before migration 0021: a scan of the outbox every
  minute, in a write transaction);
- the pruning that is due: that day's sent mail, its bodies dropped;
- the steady tick a minute later, the best of `--repeat`: what the scheduler runs every
  minute (the escalation pass, the due jobs, the auto-close, the pruning), with nothing
  due (the first pass over every open ticket has run before it, untimed).

Prints each time, the bodies pruned, and the ratio steady tick / baseline.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_history import best, databases, generated  # noqa: E402
from metrics_scrape import add_mail_outbox_escalations  # noqa: E402
from sqlalchemy import bindparam, func, select, update  # noqa: E402

from maildesk.clock import FixedClock  # noqa: E402
from maildesk.context import Desk  # noqa: E402
from maildesk.models import Outbox  # noqa: E402
from maildesk.sla.housekeeping import prune_sent_mail  # noqa: E402
from maildesk.sla.jobs import tick  # noqa: E402

YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)


def send_across_the_year(desk: Desk) -> None:
    """Each sent confirmation sent on a day of the year, its body pruned as the passes of
    the days since did; those of the day just past the retention are left due."""
    keep = timedelta(days=desk.config.limits.keep_sent_days)
    due_from = YEAR_END - keep - timedelta(days=1)
    statement = (
        update(Outbox)
        .where(Outbox.id == bindparam("row"))
        .values(sent_at=bindparam("sent"), pruned_at=bindparam("pruned"))
    )
    with desk.db.engine.begin() as conn:
        ids = list(conn.scalars(select(Outbox.id).where(Outbox.status == "sent")))
        rows = []
        for n, outbox_id in enumerate(ids):
            sent = YEAR_END - timedelta(days=n % 365, minutes=n % 1440)
            pruned = None if sent > due_from else sent + keep + timedelta(days=1)
            rows.append({"row": outbox_id, "sent": sent, "pruned": pruned})
        for start in range(0, len(rows), 10_000):
            conn.execute(statement, rows[start : start + 10_000])


def count_outbox(desk: Desk) -> None:
    with desk.db.read_only() as session:
        session.scalar(select(func.count(Outbox.id)))


def measure(database: str, tickets: int, repeat: int) -> None:
    with generated(
        f"maildesk-tick-{database}-", tickets=tickets, messages=2 * tickets, database=database
    ) as made:
        desk = made.desk
        add_mail_outbox_escalations(desk, made.messages)
        send_across_the_year(desk)
        clock = desk.clock
        assert isinstance(clock, FixedClock)
        clock.current = YEAR_END
        baseline = best(lambda: count_outbox(desk), repeat)
        started = time.perf_counter()
        pruned = prune_sent_mail(desk)
        pruning = time.perf_counter() - started
        tick(desk)  # the first pass over every open ticket, then nothing is due

        def steady() -> None:
            clock.advance(timedelta(minutes=1))
            tick(desk)

        minute = best(steady, repeat)
        print(
            f"tickets: {made.tickets}, outbox: {made.tickets}, database: {database}"
            f" (generated in {made.seconds:.1f} s)"
        )
        print(f"baseline  SELECT count(*) outbox          : {baseline * 1000:8.1f} ms")
        print(f"maildesk  pruning due ({pruned:6d} bodies)    : {pruning * 1000:8.1f} ms")
        print(f"maildesk  steady tick, nothing due        : {minute * 1000:8.1f} ms")
        print(f"ratio steady tick/baseline: {minute / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=5)
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    for kind in databases(args.database):
        measure(kind, args.tickets, args.repeat)


if __name__ == "__main__":
    main()
