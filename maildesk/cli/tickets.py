"""Tickets from the shell: list, show, open for a caller, a new link, export; and a
console sign-in link."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from maildesk.cli.common import chosen, desk_of, desks_of, emit, install_of, with_desk

if TYPE_CHECKING:  # the commands import what they use: `maildesk --help` stays quick
    from maildesk.cli.read import TicketFilter
    from maildesk.context import Desk


def cmd_ticket_list(args: argparse.Namespace) -> int:
    from maildesk.cli import read as views

    install = install_of(args)
    configs = chosen(install, args.desk, one=False)
    several = len(configs) > 1
    if args.quarantine or args.ignored:
        status = "quarantined" if args.quarantine else "ignored"
        rows = [
            row
            for desk in desks_of(args)
            for row in with_desk(views.inbound_rows(desk, status=status), desk, several)
        ]
    else:
        language = configs[0].desk.language
        try:  # before the database is opened: a typo answers in one line
            wanted = views.ticket_filter(
                language,
                state=args.state,
                assignee=args.assignee,
                category=args.category,
                since=args.since,
                until=args.until,
            )
        except views.BadFilter as exc:
            print(f"maildesk ticket list: {exc}", file=sys.stderr)
            return 2
        return _list_tickets(args, wanted, language, several)
    print(
        json.dumps(rows, ensure_ascii=False, indent=2)
        if args.format == "json"
        else views.table(rows)
    )
    return 0


def _list_tickets(
    args: argparse.Namespace, wanted: TicketFilter, language: str, several: bool
) -> int:
    """One page of tickets per desk with a footer saying where the next starts; JSON
    stays the documented array (every ticket unless `--limit` or `--page`), written as
    it is read."""
    from maildesk.cli import read as views

    limit = args.limit or (None if args.format == "json" and args.page == 1 else views.PAGE)
    skip = (args.page - 1) * limit if limit and args.after is None else 0
    desks = desks_of(args)

    def page(desk: Desk) -> Iterator[dict[str, Any]]:
        return views.ticket_rows(desk, wanted, limit=limit, below=args.after, skip=skip)

    if args.format == "json":
        _print_json(
            {"desk": desk.slug, **row} if several else row for desk in desks for row in page(desk)
        )
        return 0
    rows: list[dict[str, Any]] = []
    footers: list[str] = []
    for desk in desks:
        shown = [views.worded(row, language) for row in page(desk)]
        rows += with_desk(shown, desk, several)
        if shown:
            before = (
                views.ticket_count(desk, wanted, at_or_above=args.after) if args.after else skip
            )
            following = (
                f"--after {shown[-1]['number']}" if args.after else f"--page {args.page + 1}"
            )
            footer = views.page_footer(
                before, len(shown), views.ticket_count(desk, wanted), following
            )
            footers.append(f"{desk.slug}: {footer}" if several else footer)
    print("\n".join([views.table(rows), *footers]))
    return 0


def _print_json(rows: Iterator[dict[str, Any]]) -> None:
    """A JSON array written row by row, as `json.dumps(rows, indent=2)` writes it."""
    first = True
    for row in rows:
        text = json.dumps(row, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        sys.stdout.write(("[\n  " if first else ",\n  ") + text)
        first = False
    sys.stdout.write("[]\n" if first else "\n]\n")


def cmd_ticket_show(args: argparse.Namespace) -> int:
    from maildesk.cli import read as views

    desk = desk_of(args)
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


def cmd_ticket_types(args: argparse.Namespace) -> int:
    """The request types as whoever opens a request sees them: name, deadline, hint."""
    from maildesk.cli import read as views
    from maildesk.records import type_choices

    configs = chosen(install_of(args), args.desk, one=False)
    several = len(configs) > 1
    rows = [
        {
            **({"desk": cfg.desk.slug} if several else {}),
            "type": choice.slug,
            "name": choice.name,
            "deadline": views.duration_text(cfg.types[choice.slug].deadline),
            "hint": choice.hint,
        }
        for cfg in configs
        for choice in type_choices(cfg, cfg.desk.language)
    ]
    columns = ["desk"] * several + ["type", "name", "deadline", "hint"]
    print(views.table(rows, columns) if rows else "no [types] configured")
    return 0


def cmd_ticket_open(args: argparse.Namespace) -> int:
    from maildesk.domain import Role, Via
    from maildesk.errors import Refused
    from maildesk.records import medium_choices, type_choices
    from maildesk.tickets.actor import Actor
    from maildesk.tickets.opening import open_for_resident

    desk = desk_of(args)
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
                channel=args.channel,
                now=desk.clock.now(),
                kind=args.kind,
            ).number
    except Refused as exc:
        if exc.code == "bad_address":
            print(f"--for: expected an email address, got {args.for_!r}", file=sys.stderr)
            return 1
        if exc.code == "unknown_channel":
            known = ", ".join(name for name, _ in medium_choices(desk.config, desk.language))
            print(f"--channel: expected one of {known}, got {args.channel!r}", file=sys.stderr)
            return 1
        if exc.code == "unknown_type":
            known = ", ".join(c.slug for c in type_choices(desk.config, desk.language)) or "none"
            print(f"--type: expected one of {known}, got {args.kind!r}", file=sys.stderr)
            return 1
        raise
    print(f"opened ticket {number}")
    kind = desk.config.types.get(args.kind)
    if kind is not None and kind.hint_in(desk.language):
        print(f"{kind.label(desk.language)}: {kind.hint_in(desk.language)}")
    return 0


def cmd_ticket_token(args: argparse.Namespace) -> int:
    from maildesk.web.tokens import rotate

    desk = desk_of(args)
    try:
        token = rotate(desk, args.number)
    except LookupError:
        print(f"no ticket {args.number}", file=sys.stderr)
        return 1
    print(desk.status_url(token))
    return 0


def cmd_ticket_export(args: argparse.Namespace) -> int:
    from maildesk.reports import export

    desk = desk_of(args)
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
    emit(body, args.output)
    return 0


def cmd_staff_link(args: argparse.Namespace) -> int:
    from maildesk.web import staff_links

    desk = desk_of(args)
    if not desk.is_staff(args.email):
        print(f"{args.email} is not a [[staff]] address of this desk", file=sys.stderr)
        return 1
    token = staff_links.make_token(desk, args.email, desk.clock.now())
    print(staff_links.link_url(desk, token))
    return 0
