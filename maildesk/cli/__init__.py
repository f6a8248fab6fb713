"""The `maildesk` command: parses arguments and calls the use cases, nothing more.

Exit codes: 0 done, 1 a user error (bad config, unknown ticket), 2 bad arguments,
75 (EX_TEMPFAIL) what may pass by itself (database or mailbox unreachable: retry
later), 78 (EX_CONFIG) what will not (login refused, missing credentials, a schema
older than the code; 75 from `ingest`, as an MTA bounces on 78): a person must act.
Only `init`, `db upgrade` and `run` migrate.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import signal
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from maildesk import __version__
from maildesk import config as config_mod
from maildesk.cli import read as views
from maildesk.config_schema import starter_config
from maildesk.context import Desk, open_desk
from maildesk.errors import ConfigError, SchemaError, TemporaryError
from maildesk.inbound import runner as process

log = logging.getLogger("maildesk")

EX_TEMPFAIL = 75
EX_CONFIG = 78

# Libraries that log every step at INFO; their detail is for `-v`.
CHATTY_LOGGERS = ("alembic", "imapclient", "mail.log")


def _desk(args: argparse.Namespace, *, upgrade: bool = False) -> Desk:
    """The desk of `--config`; only the commands that may migrate pass `upgrade`."""
    cfg = config_mod.load(Path(args.config) if args.config else None)
    return open_desk(cfg, upgrade=upgrade)


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / "maildesk.toml"
    if path.exists() and not args.force:
        print(f"{path} exists; keeping it (use --force to overwrite). Upgrading the database.")
    else:
        overrides = {}
        if args.data_dir:
            # Everything the daemon writes goes there, apart from the (read-only) config.
            state = Path(args.data_dir).resolve()
            overrides = {
                "desk.data_dir": str(state),
                "desk.database": f"sqlite:///{state}/maildesk.db",
            }
        text = starter_config(secrets.token_urlsafe(32), overrides=overrides)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        print(f"wrote {path}")
    open_desk(config_mod.load(path), upgrade=True)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    _desk(args, upgrade=True)
    return 0


def _install_signals(stop: Any) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _serve(desk: Desk, parts: tuple[str, ...]) -> int:
    """Run the daemon's `parts` until SIGTERM or SIGINT, then stop them cleanly."""
    from maildesk.daemon import Daemon

    daemon = Daemon(desk, parts)
    _install_signals(daemon.stop)
    try:
        daemon.start()
        log.info(views.startup_banner(desk, parts))
        while not daemon.stop.wait(1.0):
            pass
    finally:
        daemon.shutdown()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from maildesk.daemon import PARTS

    parts = tuple(p.strip() for p in args.only.split(",")) if args.only else PARTS
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        print(
            f"--only: unknown part {', '.join(unknown)}; expected some of {', '.join(PARTS)}",
            file=sys.stderr,
        )
        return 2
    return _serve(_desk(args, upgrade=True), parts)


def cmd_fetch(args: argparse.Namespace) -> int:
    from maildesk.daemon import fetch_once

    desk = _desk(args)
    if desk.config.imap is None:
        print(
            f"{desk.config.source}: imap.host: expected an [imap] section to fetch from,"
            " got nothing",
            file=sys.stderr,
        )
        return 1
    if args.once:
        from maildesk.inbound.sources.imap import MailboxError

        try:
            stored = fetch_once(desk)
        except MailboxError as exc:
            print(f"{desk.config.source}: {exc}", file=sys.stderr)
            return EX_CONFIG if exc.lasting else EX_TEMPFAIL
        print(f"stored {stored} new mail(s)")
        return 0
    return _serve(desk, ("fetch",))


def cmd_ingest(args: argparse.Namespace) -> int:
    from maildesk.inbound.sources.pipe import EX_OK, ingest_files, ingest_stream

    desk = _desk(args)
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


def cmd_escalate(args: argparse.Namespace) -> int:
    from maildesk.sla.jobs import tick

    report = tick(_desk(args))
    if report.skipped:
        print("another worker is running the escalation pass; skipped")
    else:
        print(f"{report.escalations} escalation(s), {report.mails} mail(s) queued")
    return 0


def cmd_ticket_token(args: argparse.Namespace) -> int:
    from maildesk.web.tokens import rotate

    desk = _desk(args)
    try:
        token = rotate(desk, args.number)
    except LookupError:
        print(f"no ticket {args.number}", file=sys.stderr)
        return 1
    print(desk.status_url(token))
    return 0


def cmd_outbox_send(args: argparse.Namespace) -> int:
    from maildesk.daemon import send_outbox

    desk = _desk(args)
    report = send_outbox(desk)
    print(f"sent {report.sent}, to retry {report.retried}, given up {report.dead}")
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    from maildesk.outbound.outbox import retry

    if not args.all and not args.ids:
        print("outbox retry: give the ids of the mails, or --all", file=sys.stderr)
        return 2
    desk = _desk(args)
    result = retry(desk.db, desk.clock.now(), None if args.all else args.ids)
    for row_id, why in result.refused.items():
        print(f"outbox {row_id}: {why}; nothing to retry", file=sys.stderr)
    print(
        f"{len(result.due)} mail(s) due now"
        + (f": {', '.join(map(str, result.due))}" if result.due else "")
        + "; `maildesk outbox send --once` delivers them"
    )
    return 1 if result.refused else 0


def cmd_outbox_list(args: argparse.Namespace) -> int:
    desk = _desk(args)
    rows = views.outbox_rows(desk, status=args.status)
    print(
        json.dumps(rows, ensure_ascii=False, indent=2)
        if args.format == "json"
        else views.table(rows)
    )
    return 0


def cmd_ticket_list(args: argparse.Namespace) -> int:
    if args.quarantine or args.ignored:
        rows = views.inbound_rows(
            _desk(args), status="quarantined" if args.quarantine else "ignored"
        )
    else:
        cfg = config_mod.load(Path(args.config) if args.config else None)
        try:  # before the database is opened: a typo answers in one line
            wanted = views.ticket_filter(
                cfg.desk.language,
                state=args.state,
                assignee=args.assignee,
                category=args.category,
                since=args.since,
                until=args.until,
            )
        except views.BadFilter as exc:
            print(f"maildesk ticket list: {exc}", file=sys.stderr)
            return 2
        rows = views.ticket_rows(open_desk(cfg, upgrade=False), wanted)
        if args.format != "json":
            rows = [views.worded(row, cfg.desk.language) for row in rows]
    print(
        json.dumps(rows, ensure_ascii=False, indent=2)
        if args.format == "json"
        else views.table(rows)
    )
    return 0


def cmd_ticket_show(args: argparse.Namespace) -> int:
    desk = _desk(args)
    data = views.ticket_detail(desk, args.number)
    if data is None:
        print(f"no ticket {args.number}", file=sys.stderr)
        return 1
    print(
        json.dumps(data, ensure_ascii=False, indent=2)
        if args.format == "json"
        else views.ticket_text(data, desk.language)
    )
    return 0


def cmd_ticket_open(args: argparse.Namespace) -> int:
    from maildesk.domain import Channel, Role, Via
    from maildesk.errors import Refused
    from maildesk.tickets.actor import Actor
    from maildesk.tickets.opening import open_for_resident

    desk = _desk(args)
    if args.by:
        member = desk.config.staff_member(args.by)
        if member is None:
            known = ", ".join(s.email for s in desk.config.staff) or "none configured"
            print(f"--by: {args.by} is not a configured staff address ({known})", file=sys.stderr)
            return 1
        actor = Actor.staff(member, Via.CLI)
    else:
        actor = Actor(email="operator", role=Role.ADMIN, via=Via.CLI, name="operator")
    try:
        with desk.db.transaction() as session:
            number = open_for_resident(
                session,
                desk,
                actor,
                requester=args.for_,
                name=args.name,
                subject=args.subject,
                text=args.text,
                channel=Channel(args.channel),
                now=desk.clock.now(),
            ).number
    except Refused as exc:
        if exc.code == "bad_address":
            print(f"--for: expected an email address, got {args.for_!r}", file=sys.stderr)
            return 1
        raise
    print(f"opened ticket {number}")
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _emit(data: bytes, output: str | None) -> None:
    if output:
        Path(output).write_bytes(data)
        print(f"wrote {output}")
    else:
        sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")


def cmd_report(args: argparse.Namespace) -> int:
    from maildesk.reports import By, charts, desk_names, formats, report_for

    desk = _desk(args)
    if args.desk and args.desk.strip().lower() not in desk_names(desk.config):
        print(
            f"--desk: {args.desk!r} is not this desk ({', '.join(desk_names(desk.config))})",
            file=sys.stderr,
        )
        return 1
    today = desk.clock.now().astimezone(ZoneInfo(desk.config.desk.timezone)).date()
    last = args.to or today
    first = args.from_ or last - timedelta(days=29)
    if last < first:
        print(f"--to {last} is before --from {first}", file=sys.stderr)
        return 2
    if args.format in ("csv", "xlsx", "pdf") and not args.output:
        print(f"--format {args.format} needs --output FILE", file=sys.stderr)
        return 2
    report = report_for(desk, first, last, By(args.by))
    if args.charts or args.format == "pdf":
        report = report.with_charts(charts.render(report, desk.language))
    if args.charts:
        folder = Path(args.charts)
        folder.mkdir(parents=True, exist_ok=True)
        for stem, png in report.charts.items():
            (folder / f"{stem}.png").write_bytes(png)
        print(f"wrote {len(report.charts)} charts to {folder}", file=sys.stderr)
    _emit(formats.write(report, args.format, desk.language), args.output)
    return 0


def cmd_ticket_export(args: argparse.Namespace) -> int:
    from maildesk.reports import export

    desk = _desk(args)
    data = export.ticket_data(desk, args.number)
    if data is None:
        print(f"no ticket {args.number}", file=sys.stderr)
        return 1
    if args.format == "pdf" and not args.output:
        print("--format pdf needs --output FILE", file=sys.stderr)
        return 2
    body = (
        export.as_pdf(data, desk.config.desk.name) if args.format == "pdf" else export.as_json(data)
    )
    _emit(body, args.output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maildesk", description="An email-driven help desk for residential buildings."
    )
    parser.add_argument(
        "--config", help="configuration file (default: $MAILDESK_CONFIG, else ./maildesk.toml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument("--version", action="version", version=f"maildesk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "init", help="write a commented starter maildesk.toml and create the database"
    )
    p.add_argument("dir", nargs="?", default=".", help="folder for maildesk.toml (default: here)")
    p.add_argument("--force", action="store_true", help="overwrite an existing maildesk.toml")
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep the SQLite database and data_dir in DIR (e.g. /var/lib/maildesk)",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "run", help="the daemon: mailbox watcher, listener, outbox, scheduler, status page"
    )
    p.add_argument("--only", help="comma-separated subset of fetch,listener,outbox,scheduler,web")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("fetch", help="fetch new mail from the IMAP mailbox")
    p.add_argument("--once", action="store_true", help="one pass, then exit (cron mode)")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("ingest", help="import raw RFC 5322 messages from files, or one from stdin")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show how each mail would be threaded and why; change nothing",
    )
    p.add_argument("--sender", help="envelope sender given by the MTA (e.g. Postfix ${sender})")
    p.add_argument(
        "--recipient", action="append", default=[], help="envelope recipient (repeatable)"
    )
    p.add_argument(
        "--no-confirmation",
        action="store_true",
        help="import old mail: open tickets without confirmations",
    )
    p.add_argument(
        "--retry",
        type=int,
        nargs="+",
        metavar="ID",
        help="re-import quarantined or ignored mails by id",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "escalate", help="the SLA pass: escalations, overdue alerts, digests, auto-close"
    )
    p.add_argument("--once", action="store_true", help="one pass, then exit (cron mode)")
    p.set_defaults(func=cmd_escalate)

    outbox = sub.add_parser("outbox", help="the queue of mail to send").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = outbox.add_parser("send", help="deliver everything that is due")
    p.add_argument(
        "--once", action="store_true", help="deliver everything due, then exit (cron mode)"
    )
    p.set_defaults(func=cmd_outbox_send)
    p = outbox.add_parser("list", help="what is queued, sent, held or given up")
    p.add_argument("--status", choices=["pending", "sent", "dead", "suppressed"])
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_outbox_list)
    p = outbox.add_parser(
        "retry", help="make pending (backing off) or dead mail due now, after fixing the relay"
    )
    p.add_argument("ids", type=int, nargs="*", metavar="ID", help="outbox ids (outbox list)")
    p.add_argument("--all", action="store_true", help="every pending or dead mail")
    p.set_defaults(func=cmd_outbox_retry)

    ticket = sub.add_parser(
        "ticket", help="look at tickets, open one for a resident"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    p = ticket.add_parser("list", help="tickets, newest first")
    p.add_argument(
        "--state", help="a state as people write it: en progreso, in progress, en_progreso, …"
    )
    p.add_argument("--assignee")
    p.add_argument("--category")
    p.add_argument("--since", help="opened on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", help="opened before this date (YYYY-MM-DD)")
    p.add_argument(
        "--quarantine",
        action="store_true",
        help="list quarantined mails instead, with their reasons",
    )
    p.add_argument(
        "--ignored",
        action="store_true",
        help="list mails set aside on purpose (loops, bounces), with reasons",
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_ticket_list)
    p = ticket.add_parser("show", help="one ticket with its history")
    p.add_argument("number", type=int)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_ticket_show)
    p = ticket.add_parser("open", help="open a ticket for a resident who phoned or walked in")
    p.add_argument(
        "--for", dest="for_", required=True, metavar="EMAIL", help="the resident's email address"
    )
    p.add_argument("--name", default="", help="the resident's name")
    p.add_argument("--subject", required=True)
    p.add_argument("--text", default="", help="what the resident asked for")
    p.add_argument("--channel", choices=["phone", "walk-in", "web", "email"], default="phone")
    p.add_argument(
        "--by",
        default="",
        help="the staff address taking the call (default: the operator, as admin)",
    )
    p.set_defaults(func=cmd_ticket_open)

    p = ticket.add_parser(
        "export", help="one ticket's whole history (messages, events, attachments) as evidence"
    )
    p.add_argument("number", type=int)
    p.add_argument("--format", choices=["json", "pdf"], default="json")
    p.add_argument("--output", metavar="FILE", help="write here (required for pdf)")
    p.set_defaults(func=cmd_ticket_export)

    p = ticket.add_parser(
        "token", help="issue a new status link for a ticket; the old one stops working"
    )
    p.add_argument("number", type=int)
    p.add_argument("--new", action="store_true", required=True, help="required: rotates the token")
    p.set_defaults(func=cmd_ticket_token)

    p = sub.add_parser(
        "report", help="the KPIs of a period: volume, times, SLA, backlog, recurrence, ratings"
    )
    p.add_argument(
        "--from",
        dest="from_",
        type=_day,
        metavar="DATE",
        help="first local day (default: 30 days before --to)",
    )
    p.add_argument(
        "--to", type=_day, metavar="DATE", help="last local day, included (default: today)"
    )
    p.add_argument("--desk", metavar="SLUG", help="which desk (must name this one)")
    p.add_argument("--by", choices=["day", "week", "month"], default="week")
    p.add_argument("--format", choices=["table", "csv", "xlsx", "json", "pdf"], default="table")
    p.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--charts", metavar="DIR", help="also write the charts there as PNG files")
    p.set_defaults(func=cmd_report)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = db.add_parser("upgrade", help="apply migrations")
    p.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    except SchemaError as exc:
        print(str(exc), file=sys.stderr)
        # An MTA bounces mail on 78 (Postfix: 5.3.5); from its pipe the mail must wait.
        return EX_TEMPFAIL if args.func is cmd_ingest else EX_CONFIG
    except TemporaryError as exc:
        print(f"temporary failure, try again: {exc}", file=sys.stderr)
        return EX_TEMPFAIL


if __name__ == "__main__":
    sys.exit(main())
