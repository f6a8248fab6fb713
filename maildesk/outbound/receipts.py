"""The relay's 250, noted on disk the instant it arrives, before the database hears of it.

On SQLite every write waits for the one write lock, which the intake holds while it
works a mail; a process killed while its "sent" waited there sent the mail again
on restart. Writing a small file named for the outbox row takes no lock and
survives a killed process (the page cache outlives it), so the window between the
250 and its record is a few system calls. The next send settles noted rows as sent
before it claims anything. Each note holds the mail's Message-ID, so a note left
over from another database (a restored desk) never settles a different mail.
"""

from __future__ import annotations

import os
from pathlib import Path


class Receipts:
    """One small file per outbox row whose mail the relay accepted but the database may not know."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def note(self, row_id: int, mid: str) -> None:
        """Written under a temporary name and renamed: a note that exists is whole (a kill
        between creating and writing it left an empty note, which settled nothing)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self.directory / f".{row_id}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, mid.encode())
        finally:
            os.close(fd)
        os.replace(partial, self.directory / str(row_id))

    def noted(self) -> dict[int, str]:
        """Row id -> Message-ID of every mail accepted by the relay and not yet forgotten."""
        if not self.directory.is_dir():
            return {}
        return {
            int(path.name): path.read_text(errors="replace")
            for path in self.directory.iterdir()
            if path.name.isdigit()
        }

    def forget(self, row_id: int) -> None:
        (self.directory / str(row_id)).unlink(missing_ok=True)
