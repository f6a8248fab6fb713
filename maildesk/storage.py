"""Attachment bytes on disk under `data_dir`, by content hash, each stored once.

Files are written to a temporary name, flushed to disk and renamed, so a crash
never leaves a half file under a real name; a file whose database row was rolled
back is a harmless orphan that the next import of the same bytes reuses.

A full disk passes once an operator frees space, so it is a `TemporaryError`: a
mail is not taken from its mailbox or its MTA while its attachments may not fit,
and a stored mail waits, uncounted, instead of failing its way to quarantine.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from maildesk.errors import TemporaryError

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def disk_full_is_temporary() -> Iterator[None]:
    """Within it, a full disk (or quota) is raised as a `TemporaryError`."""
    try:
        yield
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise TemporaryError(f"disk full: {exc}") from exc
        raise


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / "attachments" / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store `data` once and return its SHA-256 (hex)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def scratch(self) -> BinaryIO:
        """An unnamed file under data_dir for bytes too big to pass around in memory (a raw
        mail on its way to the reader child); it is gone once closed or its process dies."""
        self.root.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryFile(dir=self.root)

    def check_room(self, nbytes: int) -> None:
        """Raise ENOSPC unless `nbytes` fit: a mail's attachments are never larger than the mail."""
        self.root.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(self.root).free < nbytes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.root))

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        """Remove the file (a purge, once no row names it); False when it was not there."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True
