"""The escalation pass on a desk of N tickets, M of them open, against the old full scan.

    .venv/bin/python bench/escalation_pass.py --tickets 100000 --open 5000 \
        [--database sqlite|postgresql]

Generates the history (`generate_history.generate`), leaves M random tickets open at
the year's end (and, as after the upgrade to migration 0015, no SLA rules recorded for
the desk: the first pass looks at every open ticket), then times, in this run on the
same data:

- baseline: the pass as it was before migration 0015, written here as the reference —
  every open ticket read as an object, its events by a query of its own, every
  escalation row of them, the policy on each (rolled back, so it changes nothing);
- the first pass: every open ticket is due once, so it reads all of them, in batches,
  and records and mails their escalations;
- a steady pass a minute later: only the tickets whose next threshold came in that minute.

The steady pass is the one the scheduler runs every minute.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_history import drop, generate  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from maildesk.clock import FixedClock  # noqa: E402
from maildesk.context import Desk  # noqa: E402
from maildesk.domain import State  # noqa: E402
from maildesk.models import Escalation, Ticket  # noqa: E402
from maildesk.sla.escalate import run_pass  # noqa: E402
from maildesk.sla.facts import facts_of  # noqa: E402
from maildesk.sla.policy import desk_calendar, due, statuses  # noqa: E402


def leave_open(desk: Desk, count: int, seed: int) -> None:
    """Close every ticket but `count` random ones, which are left in progress."""
    with desk.db.engine.begin() as conn:
        numbers = list(conn.scalars(select(Ticket.number)))
        chosen = random.Random(seed).sample(numbers, min(count, len(numbers)))
        conn.execute(update(Ticket).values(state=State.CERRADO.value))
        for start in range(0, len(chosen), 500):
            conn.execute(
                update(Ticket)
                .where(Ticket.number.in_(chosen[start : start + 500]))
                .values(
                    state=State.EN_PROGRESO.value,
                    resolved_at=None,
                    closed_at=None,
                    outcome=None,
                )
            )


def old_full_scan(desk: Desk) -> int:
    """The pass before `next_check_at`, reading and deciding only (rolled back): how many
    escalations it would record."""
    config, now = desk.config, desk.clock.now()
    found = 0
    with desk.db.read_only() as session:
        open_tickets = list(
            session.scalars(
                select(Ticket).where(
                    Ticket.desk_id == desk.desk_id,
                    Ticket.state != State.CERRADO.value,
                    Ticket.imported.is_(False),
                )
            )
        )
        fired = {
            (e.ticket_id, e.target, e.level)
            for e in session.scalars(
                select(Escalation).where(Escalation.ticket_id.in_([t.id for t in open_tickets]))
            )
        }
        cal = desk_calendar(config, now)
        for ticket in open_tickets:
            facts = facts_of(ticket)  # its events: one query per ticket
            for item in due(facts, statuses(facts, config, cal, now), config, now):
                found += (ticket.id, item.target, item.level.value) not in fired
    return found


def timed(label: str, work: Callable[[], int]) -> float:
    """Run `work` once and print its time and what it returned (escalations)."""
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    print(f"{label:<46}: {seconds:9.3f} s   {result} escalations")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=5_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    with tempfile.TemporaryDirectory(prefix="maildesk-escalation-") as tmp:
        made = generate(
            Path(tmp), tickets=args.tickets, messages=args.tickets, database=args.database
        )
        desk = made.desk
        try:
            leave_open(desk, args.open, args.seed)
            clock = desk.clock
            assert isinstance(clock, FixedClock)
            clock.advance(timedelta(days=366))  # the year's end: every open ticket is late
            with desk.db.read_only() as session:
                still_open = session.scalar(
                    select(func.count()).where(Ticket.state != State.CERRADO.value)
                )
            print(
                f"tickets: {made.tickets}, open: {still_open}, events: {made.events},"
                f" database: {args.database} (generated in {made.seconds:.1f} s)"
            )
            baseline = timed(
                "baseline  old full scan (read and decide)", lambda: old_full_scan(desk)
            )
            first = timed(
                "maildesk  first pass (every open ticket due)",
                lambda: run_pass(desk).escalations,
            )
            clock.advance(timedelta(minutes=1))
            steady = timed(
                "maildesk  steady pass a minute later", lambda: run_pass(desk).escalations
            )
            print(f"ratio first pass/baseline: {first / baseline:.2f}")
            print(f"ratio steady pass/baseline: {steady / baseline:.4f}")
        finally:
            desk.db.dispose()
            drop(made.pg_name)


if __name__ == "__main__":
    main()
