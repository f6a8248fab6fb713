"""Writes an article file a closed ticket became, whole or not at all, then syncs it."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from maildesk.kb import articles, index


def add_from_ticket(
    session: Session,
    desk_id: int,
    root: Path,
    *,
    language: str,
    number: int,
    subject: str,
    text: str,
    now: datetime,
) -> Path:
    """`root/<language>/<number>-<slug>.md` from the ticket's subject and closing text,
    indexed in the caller's transaction; a second time replaces the file."""
    name, content = articles.from_ticket(number, subject, text)
    folder = root / language
    folder.mkdir(parents=True, exist_ok=True)
    for older in folder.glob(f"{number}-*.md"):
        if older.name != name:
            older.unlink()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    index.sync(session, desk_id, root, now=now)
    return folder / name
