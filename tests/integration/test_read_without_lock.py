"""A command that only reads never takes SQLite's write lock: `ticket list` answers while
another process (a daemon's batch, a long `ingest`) holds it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.daemons import init_folder


def test_ticket_list_answers_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    init_folder(tmp_path)
    [database] = tmp_path.rglob("maildesk.db")
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # held until the listing is done
        listed = subprocess.run(
            [sys.executable, "-m", "maildesk", "ticket", "list"],
            capture_output=True,
            text=True,
            timeout=120,  # a listing that waited would give up after busy_timeout (30 s)
            cwd=tmp_path,
        )
        assert writer.in_transaction
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert listed.returncode == 0, listed.stderr
    assert "locked" not in listed.stderr
