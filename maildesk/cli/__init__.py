"""The `maildesk` command: parses arguments and calls the use cases, nothing more.

Exit codes: 0 done, 1 a user error (bad config, unknown ticket), 2 bad arguments,
75 (EX_TEMPFAIL) what may pass by itself (database or mailbox unreachable: retry
later), 78 (EX_CONFIG) what will not (login refused, missing credentials, a schema
older than the code; 75 from `ingest`, as an MTA bounces on 78): a person must act.
Only `init`, `db upgrade` and `run` migrate.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from maildesk import __version__, logs
from maildesk.cli.common import EX_CONFIG, EX_TEMPFAIL, day
from maildesk.cli.directory import (
    cmd_directory_import,
    cmd_directory_list,
    cmd_directory_show,
)
from maildesk.cli.kb import cmd_kb_sync
from maildesk.cli.mail import cmd_ingest, cmd_outbox_list, cmd_outbox_retry, cmd_outbox_send
from maildesk.cli.reporting import cmd_report
from maildesk.cli.running import cmd_escalate, cmd_fetch, cmd_run
from maildesk.cli.safety import cmd_backup, cmd_purge, cmd_restore
from maildesk.cli.setup import cmd_db_upgrade, cmd_init
from maildesk.cli.tickets import (
    cmd_staff_link,
    cmd_ticket_export,
    cmd_ticket_list,
    cmd_ticket_open,
    cmd_ticket_show,
    cmd_ticket_token,
    cmd_ticket_types,
)
from maildesk.errors import ConfigError, SchemaError, TemporaryError


def _positive(text: str) -> int:
    """A whole number of 1 or more, for counts and pages."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return int(text)


def _desk_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--desk",
        metavar="SLUG",
        help="the desk (building) of a [[desks]] install; required to change tickets there",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maildesk", description="An email-driven help desk for residential buildings."
    )
    parser.add_argument(
        "--config", help="configuration file (default: $MAILDESK_CONFIG, else ./maildesk.toml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        help="plain lines, or one JSON object a line (default: [log] format, else plain)",
    )
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
    _desk_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("fetch", help="fetch new mail from the IMAP mailbox")
    p.add_argument("--once", action="store_true", help="one pass, then exit (cron mode)")
    _desk_option(p)
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
    _desk_option(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "escalate", help="the SLA pass: escalations, overdue alerts, digests, auto-close"
    )
    p.add_argument("--once", action="store_true", help="one pass, then exit (cron mode)")
    _desk_option(p)
    p.set_defaults(func=cmd_escalate)

    outbox = sub.add_parser("outbox", help="the queue of mail to send").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = outbox.add_parser("send", help="deliver everything that is due")
    p.add_argument(
        "--once", action="store_true", help="deliver everything due, then exit (cron mode)"
    )
    _desk_option(p)
    p.set_defaults(func=cmd_outbox_send)
    p = outbox.add_parser("list", help="what is queued, sent, held or given up")
    p.add_argument("--status", choices=["pending", "sent", "dead", "suppressed"])
    p.add_argument("--format", choices=["table", "json"], default="table")
    _desk_option(p)
    p.set_defaults(func=cmd_outbox_list)
    p = outbox.add_parser(
        "retry", help="make pending (backing off) or dead mail due now, after fixing the relay"
    )
    p.add_argument("ids", type=int, nargs="*", metavar="ID", help="outbox ids (outbox list)")
    p.add_argument("--all", action="store_true", help="every pending or dead mail")
    _desk_option(p)
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
    p.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help="tickets per page (a table shows 50; JSON gives every ticket unless given)",
    )
    paging = p.add_mutually_exclusive_group()
    paging.add_argument("--page", type=_positive, default=1, metavar="N", help="page N of --limit")
    paging.add_argument(
        "--after",
        type=_positive,
        metavar="NUMBER",
        help="the tickets after ticket NUMBER in the list (numbered below it)",
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    _desk_option(p)
    p.set_defaults(func=cmd_ticket_list)
    p = ticket.add_parser("show", help="one ticket with its history")
    p.add_argument("number", type=int)
    p.add_argument("--format", choices=["text", "json"], default="text")
    _desk_option(p)
    p.set_defaults(func=cmd_ticket_show)
    p = ticket.add_parser("open", help="open a ticket for a resident who phoned or walked in")
    p.add_argument(
        "--for", dest="for_", required=True, metavar="EMAIL", help="the resident's email address"
    )
    p.add_argument("--name", default="", help="the resident's name")
    p.add_argument("--subject", required=True)
    p.add_argument("--text", default="", help="what the resident asked for")
    p.add_argument(
        "--channel",
        default="phone",
        help="the intake medium: one of desk.channels (phone, walk-in, whatsapp …)",
    )
    p.add_argument(
        "--type", dest="kind", default="", help="a request type of [types] (see `ticket types`)"
    )
    p.add_argument(
        "--by",
        default="",
        help="the staff address taking the call (default: the operator, as admin)",
    )
    _desk_option(p)
    p.set_defaults(func=cmd_ticket_open)
    p = ticket.add_parser("types", help="the request types with their hints and deadlines")
    _desk_option(p)
    p.set_defaults(func=cmd_ticket_types)

    p = ticket.add_parser(
        "export", help="one ticket's whole history (messages, events, attachments) as evidence"
    )
    p.add_argument("number", type=int)
    p.add_argument("--format", choices=["json", "pdf"], default="json")
    p.add_argument("--output", metavar="FILE", help="write here (required for pdf)")
    _desk_option(p)
    p.set_defaults(func=cmd_ticket_export)

    p = ticket.add_parser(
        "token", help="issue a new status link for a ticket; the old one stops working"
    )
    p.add_argument("number", type=int)
    p.add_argument("--new", action="store_true", required=True, help="required: rotates the token")
    _desk_option(p)
    p.set_defaults(func=cmd_ticket_token)

    p = sub.add_parser(
        "report", help="the KPIs of a period: volume, times, SLA, backlog, recurrence, ratings"
    )
    p.add_argument(
        "--from",
        dest="from_",
        type=day,
        metavar="DATE",
        help="first local day (default: 30 days before --to)",
    )
    p.add_argument(
        "--to", type=day, metavar="DATE", help="last local day, included (default: today)"
    )
    p.add_argument("--by", choices=["day", "week", "month"], default="week")
    p.add_argument("--format", choices=["table", "csv", "xlsx", "json", "pdf"], default="table")
    p.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--charts", metavar="DIR", help="also write the charts there as PNG files")
    _desk_option(p)
    p.set_defaults(func=cmd_report)

    directory = sub.add_parser(
        "directory", help="the units of the building and the people in them"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    p = directory.add_parser(
        "import", help="load a CSV or XLSX list of units and people (all rows or none)"
    )
    p.add_argument("file", metavar="FILE")
    _desk_option(p)
    p.set_defaults(func=cmd_directory_import)
    p = directory.add_parser("list", help="every unit with its people and open tickets")
    _desk_option(p)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_directory_list)
    p = directory.add_parser(
        "show", help="one unit: people, relation, emails, phones, open tickets"
    )
    p.add_argument("unit", metavar="UNIT", help='as people write it: 402, "B 402", "bodega 12"')
    _desk_option(p)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_directory_show)

    kb = sub.add_parser(
        "kb", help="the knowledge base: Markdown articles under data_dir/kb/<language>/"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    p = kb.add_parser("sync", help="index the article files (added, changed, removed)")
    _desk_option(p)
    p.set_defaults(func=cmd_kb_sync)

    staff = sub.add_parser("staff", help="the staff console").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = staff.add_parser(
        "link", help="print a one-time sign-in link to the console (15 minutes, used once)"
    )
    p.add_argument("email", help="a configured [[staff]] address")
    _desk_option(p)
    p.set_defaults(func=cmd_staff_link)

    p = sub.add_parser(
        "backup",
        help="the whole desk, or every desk of an install (database, attachments, secret),"
        " in one tar.gz archive",
    )
    p.add_argument("file", metavar="FILE", help="the archive to write (e.g. maildesk.tar.gz)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="put a backup archive back as this desk")
    p.add_argument("file", metavar="FILE", help="an archive written by `maildesk backup`")
    p.add_argument(
        "--force", action="store_true", help="replace a desk that already has tickets or mail"
    )
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "purge", help="remove closed tickets' personal data; the reports' figures stay"
    )
    p.add_argument(
        "--before",
        required=True,
        type=day,
        metavar="DATE",
        help="tickets closed before this day (YYYY-MM-DD), at most today minus desk.retention_days",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would go; change nothing")
    _desk_option(p)
    p.set_defaults(func=cmd_purge)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = db.add_parser("upgrade", help="apply migrations")
    p.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.log_format or "plain", verbose=args.verbose)
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
