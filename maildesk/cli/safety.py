"""Keeping the desk's data safe: `backup`, `restore` and `purge`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from maildesk.cli.common import chosen, desk_of, desks_of, install_of
from maildesk.errors import BackupError, Refused
from maildesk.progress import Progress


def cmd_backup(args: argparse.Namespace) -> int:
    from maildesk.backup.archive import create

    # Every desk of an install shares one database and one data_dir: one archive holds all.
    desk = desks_of(args)[0]
    try:
        manifest = create(desk, Path(args.file), now=desk.clock.now())
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    counts = manifest.counts
    print(
        f"wrote {args.file}: {counts['tickets']} tickets, {counts['messages']} messages,"
        f" {counts['attachments']} attachments, {len(manifest.members)} files"
        f" (schema {manifest.revision})"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from maildesk.backup.restore import restore

    # No `desk_of`: a new machine has no database yet, and an old one may be refused.
    # The desks of an install share the database and data_dir restored, so any one serves.
    config = chosen(install_of(args), None, one=False)[0]
    try:
        manifest = restore(config, Path(args.file), force=args.force)
    except BackupError as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 1
    counts = manifest.counts
    print(
        f"restored {args.file} of {manifest.created_at}: {counts['tickets']} tickets,"
        f" {counts['messages']} messages, {counts['attachments']} attachments"
        f" (schema {manifest.revision}, maildesk {manifest.version})"
    )
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from maildesk.reports.periods import local_midnight
    from maildesk.tickets import purge

    desk = desk_of(args)
    now = desk.clock.now()
    before = local_midnight(args.before, desk.config.desk.timezone)
    try:
        purge.check_cutoff(before, now, desk.config.desk.retention_days)
    except Refused as exc:
        print(f"purge refused: {exc.detail}", file=sys.stderr)
        return 1
    with desk.db.read_only() as session:
        found = purge.due(session, desk.desk_id, before)
        attachments = purge.count_attachments(session, desk.desk_id, before)
    if args.dry_run:
        print(
            f"would purge {len(found)} tickets closed before {args.before}"
            f" ({attachments} attachments)"
        )
        zone = ZoneInfo(desk.config.desk.timezone)
        for number, closed in found:
            print(f"  #{number}  closed {closed.astimezone(zone).date().isoformat()}")
        return 0
    progress = Progress("purge", len(found))
    done = messages = removed = files = 0
    for number, _closed in found:
        with desk.db.transaction() as session:  # one ticket a transaction: a stop loses nothing
            purged = purge.purge_ticket(session, desk, number, now=now)
        if purged is not None:
            done += 1
            messages += purged.messages
            removed += purged.attachments
            files += purged.files_deleted
        progress.step()
    progress.finish()
    with desk.db.transaction() as session:
        unconfirmed = purge.forget_unconfirmed(session, desk, before)
    print(
        f"purged {done} tickets closed before {args.before}: {messages} messages,"
        f" {removed} attachments ({files} files deleted)"
    )
    if unconfirmed:
        print(f"deleted {unconfirmed} web requests whose link expired unused")
    return 0
