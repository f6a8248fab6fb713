"""`maildesk restore FILE [--force]`: a backup archive back into the configured desk.

Everything is checked and staged before the desk is touched: the archive is unpacked
into a temporary folder beside `data_dir`, every checksum verified, an archive of a
newer schema refused and an older one upgraded, in the staged copy. The attachments
are then added (stored by content hash, they cannot hurt the old desk); the database
is swapped in at one commit (see `database`); only after it the other files of
`data_dir` (the generated secret, the `.eml` outbox) are replaced, each by a rename,
and the old desk's attachments that the archive does not hold are deleted. A crash
before the commit leaves the old desk as it was; running the same restore again
finishes an interrupted one.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, make_url, select

from maildesk.backup import database
from maildesk.backup.archive import TRANSIENT_PREFIXES
from maildesk.backup.manifest import DATA_PREFIX, NAME, Manifest, verify
from maildesk.config import Config
from maildesk.db import Database, create_private_file, sqlite_file
from maildesk.errors import BackupError
from maildesk.models import Inbound, Ticket
from maildesk.progress import Progress

ATTACHMENTS = "attachments"


def unpack(archive: Path, work: Path) -> Manifest:
    """Extract the archive's regular files (no links, no paths outside) and check them."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(work, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive} is not a readable maildesk archive: {exc}") from exc
    manifest_file = work / NAME
    if not manifest_file.is_file():
        raise BackupError(f"{archive} holds no {NAME}: not a maildesk backup")
    manifest = Manifest.from_json(manifest_file.read_bytes())
    verify(manifest, work)
    return manifest


def database_kind(url: str) -> str:
    return "postgresql" if make_url(url).get_backend_name() == "postgresql" else "sqlite"


def holds_a_desk(config: Config) -> bool:
    """True when the configured database has tickets or mail, or data_dir has attachments."""
    attachments = config.data_path / ATTACHMENTS
    if attachments.is_dir() and any(p.is_file() for p in attachments.rglob("*")):
        return True
    file = sqlite_file(config.database_url)
    if file is not None and not file.exists():
        return False
    if file is None and not database.postgres_exists(config.database_url):
        return False
    db = Database(config.database_url)
    try:
        if db.revision() is None:
            return False
        with db.read_only() as session:
            return any(
                session.scalar(select(func.count()).select_from(model))
                for model in (Ticket, Inbound)
            )
    finally:
        db.dispose()


def check(manifest: Manifest, config: Config, *, force: bool) -> None:
    kind = database_kind(config.database_url)
    if manifest.database != kind:
        raise BackupError(
            f"the archive holds a {manifest.database} database; this desk's desk.database is {kind}"
        )
    if database.revision_age(manifest.revision) == "newer":
        raise BackupError(
            f"the archive's schema (revision {manifest.revision}, maildesk {manifest.version})"
            " is newer than this maildesk: install that version or a later one to restore it"
        )
    address = config.desk.address.lower()
    if address not in manifest.addresses:
        raise BackupError(
            f"the archive is the desk of {', '.join(manifest.addresses)}; this configuration's"
            f" desk.address is {address}"
        )
    if not force and holds_a_desk(config):
        raise BackupError(
            "this desk is not empty (it has tickets, mail or attachments): restoring would"
            " replace it; add --force to do so"
        )


def stage_database(manifest: Manifest, config: Config, work: Path) -> str:
    """The archive's database ready to swap in, upgraded to this maildesk's schema; its URL."""
    dump = work / manifest.database_member
    if manifest.database == "sqlite":
        url = f"sqlite:///{dump}"
    else:
        url = database.stage_postgres(config.database_url, dump)
    staged = Database(url)
    try:
        staged.upgrade()
    finally:
        staged.dispose()
    return url


def place(source: Path, target: Path) -> None:
    """Move one file into `data_dir` by a rename (same filesystem: `work` is beside it),
    on disk first: the restored database may name it the moment the swap commits."""
    with source.open("rb") as fh:
        os.fsync(fh.fileno())
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.replace(source, target)


def swap_database(config: Config, staged: str) -> None:
    """The commit point: after it the desk is the archive's."""
    if database_kind(config.database_url) == "postgresql":
        database.swap_postgres(config.database_url, staged)
        return
    live = sqlite_file(config.database_url)
    assert live is not None
    create_private_file(live)  # a new machine's database is its owner's only too
    database.copy_sqlite(Path(make_url(staged).database or ""), live)


def drop_other_attachments(data_dir: Path, kept: set[Path]) -> None:
    """The replaced desk's files that the restored one does not name: residents' data."""
    attachments = data_dir / ATTACHMENTS
    if attachments.is_dir():
        for path in attachments.rglob("*"):
            if path.is_file() and path.relative_to(data_dir) not in kept:
                path.unlink()


def restore(
    config: Config, archive: Path, *, force: bool, stream: TextIO | None = None
) -> Manifest:
    """Replace the configured desk by the archive's; its manifest."""
    data_dir = config.data_path
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=TRANSIENT_PREFIXES[1], dir=data_dir.parent))
    try:
        manifest = unpack(archive, work)
        check(manifest, config, force=force)
        staged = stage_database(manifest, config, work)
        unpacked = work / DATA_PREFIX
        files = {p.relative_to(unpacked) for p in unpacked.rglob("*") if p.is_file()}
        blobs = {f for f in files if f.parts[0] == ATTACHMENTS}
        progress = Progress("restore", len(files) + 1, stream=stream)
        for relative in sorted(blobs):  # stored by content hash: harmless to the old desk
            place(unpacked / relative, data_dir / relative)
            progress.step()
        swap_database(config, staged)
        progress.step()
        for relative in sorted(files - blobs):
            place(unpacked / relative, data_dir / relative)
            progress.step()
        drop_other_attachments(data_dir, blobs)
        progress.finish()
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if database_kind(config.database_url) == "postgresql":
            database.drop_staging(config.database_url)
