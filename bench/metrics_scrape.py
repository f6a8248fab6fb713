"""How long one `/metrics` scrape takes on a desk with a year of history.

    .venv/bin/python bench/metrics_scrape.py [--tickets 100000] [--messages 200000] \
        [--database sqlite|postgresql|both] [--repeat 5]

Generates the year with bench/generate_history.py, adds what the scrape also counts
(one stored raw mail of 2 kB per message, one outbox row per ticket, mostly sent, and
two escalations for every tenth ticket), then times, in the same run:

- baseline: `SELECT count(*)` of the tickets;
- scrape: what `/metrics` does for a request, every figure read from the database
  (`web.metrics.registry_for` and `generate_latest`), as text.

Prints each time (the best of `--repeat`) and the ratio scrape / baseline.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_history import best, databases, generated  # noqa: E402
from prometheus_client import generate_latest  # noqa: E402
from sqlalchemy import func, insert, literal, select, text  # noqa: E402

from maildesk.context import Desk  # noqa: E402
from maildesk.models import Escalation, Inbound, InboundRaw, Outbox, Ticket  # noqa: E402
from maildesk.web.metrics import registry_for  # noqa: E402

RAW = b"Subject: Fuga de agua\r\n\r\n" + b"Hay una fuga en el depto 402. " * 66  # about 2 kB
BATCH = 5_000


def add_mail_outbox_escalations(desk: Desk, messages: int) -> None:
    """The rows the history generator leaves out and the scrape counts."""
    now = datetime(2027, 1, 1, tzinfo=UTC)
    with desk.db.engine.begin() as conn:
        ids = [row[0] for row in conn.execute(select(Ticket.id).order_by(Ticket.id))]
        rows: list[dict[str, Any]] = []
        for n in range(messages):
            status = "processed" if n % 200 else ("quarantined" if n % 400 else "ignored")
            rows.append(
                {
                    "desk_id": desk.desk_id,
                    "source": "imap",
                    "source_key": f"bench;1:{n}",
                    "dedupe_key": f"{n:064d}",
                    "size": len(RAW),
                    "envelope_to": "",
                    "received_at": now,
                    "backfill": False,
                    "status": status,
                    "attempts": 1,
                    "last_error": "",
                    "verdict": "",
                    "reason": "",
                }
            )
            if len(rows) == BATCH:
                conn.execute(insert(Inbound), rows)
                rows = []
        if rows:
            conn.execute(insert(Inbound), rows)
        conn.execute(
            insert(InboundRaw).from_select(["inbound_id", "raw"], select(Inbound.id, literal(RAW)))
        )
        outbox: list[dict[str, Any]] = []
        for n, ticket_id in enumerate(ids):
            outbox.append(
                {
                    "desk_id": desk.desk_id,
                    "ticket_id": ticket_id,
                    "kind": "confirmation",
                    "recipient": f"vecina{n}@correo.example",
                    "envelope_from": "soporte@alameda.example",
                    "mid": f"<md.{n}@alameda.example>",
                    "raw": RAW,
                    "automatic": True,
                    "status": "sent" if n % 1000 else "pending",
                    "attempts": 1,
                    "next_attempt_at": now,
                    "last_error": "",
                    "created_at": now - timedelta(minutes=n % 60),
                    "ref": "",
                }
            )
            if len(outbox) == BATCH:
                conn.execute(insert(Outbox), outbox)
                outbox = []
        if outbox:
            conn.execute(insert(Outbox), outbox)
        conn.execute(
            insert(Escalation),
            [
                {"ticket_id": t, "target": target, "level": level, "fired_at": now}
                for t in ids[::10]
                for target, level in (("first_response", "assignee"), ("resolution", "supervisor"))
            ],
        )
    # As autovacuum keeps a table on PostgreSQL (so index-only scans need not visit it).
    with desk.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if desk.db.is_postgres else "ANALYZE"))


def count_tickets(desk: Desk) -> None:
    with desk.db.read_only() as session:
        session.scalar(select(func.count()).select_from(Ticket))


def measure(database: str, tickets: int, messages: int, repeat: int) -> None:
    with generated(
        f"maildesk-metrics-{database}-", tickets=tickets, messages=messages, database=database
    ) as made:
        desk = made.desk
        add_mail_outbox_escalations(desk, made.messages)
        registry = registry_for(desk)
        size = len(generate_latest(registry))
        baseline = best(lambda: count_tickets(desk), repeat)
        scrape = best(lambda: generate_latest(registry_for(desk)), repeat)
        print(
            f"tickets: {made.tickets}, stored mails: {made.messages}, outbox: {made.tickets},"
            f" database: {database} (generated in {made.seconds:.1f} s)"
        )
        print(f"baseline  SELECT count(*) ticket        : {baseline * 1000:8.1f} ms")
        print(f"maildesk  /metrics scrape ({size} bytes) : {scrape * 1000:8.1f} ms")
        print(f"ratio scrape/baseline: {scrape / baseline:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=5)
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    for kind in databases(args.database):
        measure(kind, args.tickets, args.messages, args.repeat)


if __name__ == "__main__":
    main()
