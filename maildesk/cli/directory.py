"""`maildesk directory import|list|show`: the desk's units and the people in them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maildesk.cli.common import desk_of
from maildesk.progress import Progress

if TYPE_CHECKING:  # the commands import what they use: `maildesk --help` stays quick
    from maildesk.context import Desk


def cmd_directory_import(args: argparse.Namespace) -> int:
    """Check every row first; any problem lists them all and loads nothing."""
    from maildesk.directory import rows, sheet
    from maildesk.directory.load import load

    desk = desk_of(args)
    path = Path(args.file)
    try:
        checked = rows.check(sheet.read(path))
    except (OSError, sheet.SheetError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    if checked.errors:
        for error in checked.errors:
            print(f"{path.name}: {error}", file=sys.stderr)
        print(f"{path.name}: {len(checked.errors)} problems; nothing was changed", file=sys.stderr)
        return 1
    progress = Progress("directory", len(checked.entries))
    with desk.db.transaction() as session:
        counts = load(session, desk.desk_id, checked.entries, step=progress.step)
    progress.finish()
    print(f"{path.name}: {len(checked.entries)} rows, {counts}")
    return 0


def _today(desk: Desk) -> Any:
    from maildesk.localtime import local_day

    return local_day(desk.clock.now(), timezone=desk.config.desk.timezone)


def cmd_directory_list(args: argparse.Namespace) -> int:
    from maildesk import labels
    from maildesk.cli import read as views
    from maildesk.directory.listing import units

    desk = desk_of(args)
    with desk.db.read_only() as session:
        rows = units(session, desk.desk_id, _today(desk))
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        shown = [{**r, "unit": labels.unit_label(r["unit"], desk.language)} for r in rows]
        print(views.table(shown, ["unit", "floor", "people", "open_tickets"]))
    return 0


def cmd_directory_show(args: argparse.Namespace) -> int:
    from maildesk.directory.listing import unit_detail
    from maildesk.directory.lookup import find_unit

    desk = desk_of(args)
    with desk.db.read_only() as session:
        found = find_unit(session, desk.desk_id, args.unit)
        if found.unit is None:
            close = f"; closest: {', '.join(found.close)}" if found.close else ""
            print(f"no unit {args.unit!r} in the directory{close}", file=sys.stderr)
            return 1
        data = unit_detail(session, found.unit, _today(desk))
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(unit_text(data, desk.language))
    return 0


def unit_text(data: dict[str, Any], language: str) -> str:
    from maildesk import labels

    lines = [labels.unit_label(data["unit"], language)]
    for p in data["people"]:
        dates = f" {p['from'] or '…'}–{p['until'] or '…'}" if p["from"] or p["until"] else ""
        former = "" if p["current"] else " (former)"
        lines.append(
            f"  {p['name'] or '-'} · {labels.relation_label(p['relation'], language)}"
            f"{dates}{former}"
        )
        lines.extend(f"    {value}" for value in (*p["emails"], *p["phones"]))
    lines.append("open tickets:" if data["open_tickets"] else "open tickets: none")
    lines.extend(
        f"  #{t['number']} {labels.state_label(t['state'], language)} · {t['subject']}"
        for t in data["open_tickets"]
    )
    return "\n".join(lines)
