"""An SMTP relay in a process of its own that keeps each accepted message as a file.

For kill tests: a relay in a thread of the test process hands the GIL to the test's
killing thread right after it accepts a mail, which times the kills into the SMTP
exchange instead of leaving them random. Usage: `python -m tests.relay_process DIR
PORT`; it prints "ready" once listening and stops when its stdin closes. Each message
is `DIR/<n>.eml`: the recipients, one a line, a blank line, then the message.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.numbers = itertools.count()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        number = next(self.numbers)
        head = "".join(f"{rcpt}\n" for rcpt in envelope.rcpt_tos) + "\n"
        partial = self.folder / f".{number}"
        partial.write_bytes(head.encode() + bytes(envelope.original_content or b""))
        partial.rename(self.folder / f"{number}.eml")
        return "250 2.0.0 OK queued"


def recipients(folder: Path) -> list[str]:
    """Every recipient of every message the relay kept, one entry per message and recipient."""
    found: list[str] = []
    for path in sorted(folder.glob("*.eml")):
        head = path.read_bytes().split(b"\n\n", 1)[0].decode()
        found.extend(head.splitlines())
    return found


def main() -> None:
    folder, port = Path(sys.argv[1]), int(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_Keep(folder), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
