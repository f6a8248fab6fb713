"""`maildesk backup FILE`: the database, `data_dir` (attachments, the generated secret,
the `.eml` outbox) and a manifest, in one tar.gz written under a temporary name.

The database is copied first and the files after: attachments are stored by content
hash before the row that names them commits, so every attachment the copied database
names is already on disk; files that arrive later are harmless extras.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select

from maildesk import __version__
from maildesk.backup import database
from maildesk.backup.manifest import (
    DATA_PREFIX,
    NAME,
    POSTGRES_MEMBER,
    SQLITE_MEMBER,
    Manifest,
    Member,
    sha256_of,
)
from maildesk.context import Desk
from maildesk.db import sqlite_file
from maildesk.errors import BackupError
from maildesk.models import Attachment, Event, Inbound, Message, Outbox, Ticket
from maildesk.models import Desk as DeskRow
from maildesk.progress import Progress

COUNTED = {
    "tickets": Ticket,
    "messages": Message,
    "attachments": Attachment,
    "events": Event,
    "inbound": Inbound,
    "outbox": Outbox,
}
# Names under data_dir that are never part of a desk: half-written files and restores.
TRANSIENT_PREFIXES = (".tmp-", ".maildesk-restore-", ".maildesk-backup-")


def data_files(data_dir: Path, *, skip: set[Path]) -> Iterator[Path]:
    """The files of `data_dir` a desk needs back, without its SQLite database files."""
    for root, dirs, names in os.walk(data_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(TRANSIENT_PREFIXES))
        for name in sorted(names):
            path = Path(root) / name
            if not name.startswith(TRANSIENT_PREFIXES) and path.resolve() not in skip:
                yield path


def database_files(url: str) -> set[Path]:
    """A SQLite database and the journal files beside it (they may live in `data_dir`)."""
    file = sqlite_file(url)
    if file is None:
        return set()
    file = file.resolve()
    return {file, *(file.with_name(file.name + s) for s in ("-wal", "-shm", "-journal"))}


def counts(desk: Desk) -> dict[str, int]:
    with desk.db.read_only() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in COUNTED.items()
        }


def addresses(desk: Desk) -> tuple[str, ...]:
    with desk.db.read_only() as session:
        return tuple(sorted(session.scalars(select(DeskRow.address))))


def dump_database(desk: Desk, work: Path) -> Path:
    """The database as one file in `work`: a SQLite copy, or a `pg_dump` custom archive."""
    if desk.db.is_postgres:
        dump = work / POSTGRES_MEMBER
        database.dump_postgres(desk.config.database_url, dump)
        return dump
    file = sqlite_file(desk.config.database_url)
    assert file is not None
    dump = work / SQLITE_MEMBER
    database.copy_sqlite(file, dump)
    return dump


def create(desk: Desk, target: Path, *, now: datetime, stream: TextIO | None = None) -> Manifest:
    """Write the desk's archive to `target` (replaced only once complete); its manifest."""
    revision = desk.db.revision()
    if revision is None:
        raise BackupError("the database has no maildesk tables: nothing to back up")
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    data_dir = desk.config.data_path
    skip = database_files(desk.config.database_url) | {target}
    # What the desk held as the backup began: for the operator's eyes, never checked
    # (mail that arrives during the copy may or may not be in it).
    held = counts(desk)
    with tempfile.TemporaryDirectory(prefix=".maildesk-backup-", dir=target.parent) as tmp:
        work = Path(tmp)
        dump = dump_database(desk, work)
        files = list(data_files(data_dir, skip=skip))
        progress = Progress("backup", len(files) + 1, stream=stream)
        members = [Member(dump.name, dump.stat().st_size, sha256_of(dump))]
        partial = work / "archive.tar.gz"
        # Level 6: most of level 9's size in a third of its time; photos do not shrink anyway.
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            tar.add(dump, arcname=dump.name)
            progress.step()
            for path in files:
                name = DATA_PREFIX + path.relative_to(data_dir).as_posix()
                members.append(Member(name, path.stat().st_size, sha256_of(path)))
                tar.add(path, arcname=name, recursive=False)
                progress.step()
            manifest = Manifest(
                version=__version__,
                revision=revision,
                database="postgresql" if desk.db.is_postgres else "sqlite",
                created_at=now.isoformat(),
                counts=held,
                addresses=addresses(desk),
                members=tuple(members),
            )
            raw = manifest.to_json()
            info = tarfile.TarInfo(NAME)
            info.size, info.mtime, info.mode = len(raw), int(now.timestamp()), 0o600
            tar.addfile(info, io.BytesIO(raw))
        progress.finish()
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        partial.chmod(0o600)  # residents' requests and the signing secret
        os.replace(partial, target)
    return manifest
