"""Mail by hand: `ingest` from files or an MTA pipe, and the outbox."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from maildesk.cli.common import desk_of, desks_of, log, with_desk

if TYPE_CHECKING:  # the commands import what they use: `maildesk --help` stays quick
    from maildesk.context import Desk


def cmd_ingest(args: argparse.Namespace) -> int:
    from maildesk.inbound import runner as process
    from maildesk.inbound.sources.pipe import EX_OK, ingest_files, ingest_stream

    desk = desk_of(args) if args.desk or not args.recipient else _recipients_desk(args)
    if args.retry:
        for inbound_id in args.retry:
            if not process.requeue(desk, inbound_id):
                print(
                    f"mail {inbound_id}: not quarantined or ignored here; nothing to retry",
                    file=sys.stderr,
                )
                return 1
            print(f"mail {inbound_id}: {process.process_one(desk, inbound_id)}")
        return 0
    if args.dry_run:
        raws = (
            [p.read_bytes() for p in map(Path, args.files)]
            if args.files
            else [sys.stdin.buffer.read()]
        )
        for raw in raws:
            print(
                json.dumps(
                    process.explain(
                        desk, raw, envelope_from=args.sender, envelope_to=",".join(args.recipient)
                    ),
                    ensure_ascii=False,
                    indent=2,
                )
            )
        return 0
    if args.files:
        code, done = ingest_files(
            desk, [Path(f) for f in args.files], backfill=args.no_confirmation
        )
        for path, accepted in done:
            print(
                f"{path}: inbound {accepted.inbound_id} {accepted.status}"
                + ("" if accepted.created else " (already stored)")
            )
        return code
    code, piped = ingest_stream(
        desk, sys.stdin.buffer, envelope_from=args.sender, recipients=args.recipient
    )
    if piped is not None and code == EX_OK:
        log.info("inbound %s %s", piped.inbound_id, piped.status)
    return code


def _recipients_desk(args: argparse.Namespace) -> Desk:
    """An MTA pipe's mail goes to the desk of its `--recipient` (several desks, no --desk)."""
    from maildesk.errors import ConfigError
    from maildesk.signing import is_desk_address

    desks = desks_of(args)
    found = [d for d in desks if any(is_desk_address(r, d.address) for r in args.recipient)]
    if len(found) != 1:
        raise ConfigError(
            desks[0].config.source,
            "--desk",
            "a --recipient of exactly one desk, or --desk SLUG: "
            + ", ".join(d.slug for d in desks),
            ", ".join(args.recipient),
        )
    return found[0]


def cmd_outbox_send(args: argparse.Namespace) -> int:
    from maildesk.daemon import send_outbox

    for desk in desks_of(args):  # each desk's mail through its own relay
        report = send_outbox(desk)
        print(
            f"sent {report.sent}, to retry {report.retried}, given up {report.dead}"
            + (f" ({desk.slug})" if args.desk is None and desk.neighbours else "")
        )
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    from maildesk.outbound.outbox import retry

    if not args.all and not args.ids:
        print("outbox retry: give the ids of the mails, or --all", file=sys.stderr)
        return 2
    desk = desk_of(args)
    result = retry(desk.db, desk.desk_id, desk.clock.now(), None if args.all else args.ids)
    for row_id, why in result.refused.items():
        print(f"outbox {row_id}: {why}; nothing to retry", file=sys.stderr)
    print(
        f"{len(result.due)} mail(s) due now"
        + (f": {', '.join(map(str, result.due))}" if result.due else "")
        + "; `maildesk outbox send --once` delivers them"
    )
    return 1 if result.refused else 0


def cmd_outbox_list(args: argparse.Namespace) -> int:
    from maildesk.cli import read as views

    desks = desks_of(args)
    rows = [
        row
        for desk in desks
        for row in with_desk(views.outbox_rows(desk, status=args.status), desk, len(desks) > 1)
    ]
    print(
        json.dumps(rows, ensure_ascii=False, indent=2)
        if args.format == "json"
        else views.table(rows)
    )
    return 0
