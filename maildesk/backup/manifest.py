"""What a backup archive holds, and the checks it must pass before anything is restored.

The manifest names every member with its size and SHA-256, the schema revision of the
database inside, the database kind and the row counts, so a damaged, foreign or newer
archive is refused before the desk is touched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from maildesk.errors import BackupError

FORMAT = 1
NAME = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
POSTGRES_MEMBER = "database.pgdump"
DATA_PREFIX = "data/"
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    version: str
    revision: str
    database: str  # "sqlite" or "postgresql"
    created_at: str
    counts: dict[str, int]
    addresses: tuple[str, ...]
    members: tuple[Member, ...] = field(default_factory=tuple)
    format: int = FORMAT

    @property
    def database_member(self) -> str:
        return SQLITE_MEMBER if self.database == "sqlite" else POSTGRES_MEMBER

    def to_json(self) -> bytes:
        data = asdict(self)
        data["members"] = [asdict(m) for m in self.members]
        return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data: dict[str, Any] = json.loads(raw)
            members = tuple(
                Member(str(m["name"]), int(m["size"]), str(m["sha256"])) for m in data["members"]
            )
            found = cls(
                version=str(data["version"]),
                revision=str(data["revision"]),
                database=str(data["database"]),
                created_at=str(data["created_at"]),
                counts={str(k): int(v) for k, v in data["counts"].items()},
                addresses=tuple(str(a) for a in data["addresses"]),
                members=members,
                format=int(data["format"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the archive's {NAME} is not a maildesk manifest ({exc})") from exc
        if found.format != FORMAT:
            raise BackupError(
                f"the archive is in backup format {found.format}; this maildesk reads {FORMAT}"
            )
        if found.database not in ("sqlite", "postgresql"):
            raise BackupError(f"the archive names an unknown database kind {found.database!r}")
        return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def member_of(root: Path, path: Path) -> Member:
    return Member(path.relative_to(root).as_posix(), path.stat().st_size, sha256_of(path))


def verify(manifest: Manifest, root: Path) -> None:
    """Every member is there with its size and checksum, and nothing else is.

    An archive cut short, a flipped bit or a file slipped in stops the restore here.
    """
    listed = {m.name for m in manifest.members}
    if manifest.database_member not in listed:
        raise BackupError(f"the archive lists no {manifest.database_member}")
    present = {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != NAME
    }
    missing = sorted(listed - present)
    if missing:
        raise BackupError(f"the archive lacks {len(missing)} listed files, e.g. {missing[0]}")
    extra = sorted(present - listed)
    if extra:
        raise BackupError(f"the archive holds files its manifest does not list, e.g. {extra[0]}")
    for member in manifest.members:
        path = root / member.name
        if path.stat().st_size != member.size or sha256_of(path) != member.sha256:
            raise BackupError(f"{member.name} in the archive does not match its checksum")
