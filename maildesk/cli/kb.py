"""`maildesk kb sync`: the knowledge base's files into the database's search index."""

from __future__ import annotations

import argparse

from maildesk.cli.common import desks_of


def cmd_kb_sync(args: argparse.Namespace) -> int:
    """Every desk's articles (or `--desk`'s); one line per desk says what changed."""
    from maildesk.kb.index import sync_desk

    for desk in desks_of(args):
        print(f"{desk.slug}: {sync_desk(desk)}")
    return 0
