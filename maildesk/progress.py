"""A progress bar for long commands on an operator's terminal: backup, restore, purge,
`fetch --once` working through a mailbox's past, `directory import`, `report`.

Only a terminal gets it: cron mail, pipes and logs stay free of carriage returns. It is
drawn on standard error, so `report > year.csv` still shows it and the file stays clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 20


def line(label: str, done: int, total: int, elapsed: float) -> str:
    """`label [####................] 40/200 20% about 12 s left`; the time left is a
    plain linear guess."""
    share = min(done / total, 1.0) if total else 1.0
    filled = int(share * WIDTH)
    text = f"{label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} {share:.0%}"
    if 0 < done < total:
        left = elapsed * (total - done) / done
        text += f" about {left:.0f} s left" if left < 120 else f" about {left / 60:.0f} min left"
    return text


class Progress:
    """Counts steps and rewrites one line on a terminal at most a few times a second.

    `total` may be set after the start, once the work knows how much there is.
    """

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.monotonic = monotonic
        self.started = monotonic()
        self.shown_at = -1.0
        self.on = self.stream.isatty()

    def step(self, count: int = 1) -> None:
        self.done += count
        now = self.monotonic()
        if self.on and (now - self.shown_at >= 0.2 or self.done >= self.total):
            self.shown_at = now
            text = line(self.label, self.done, self.total, now - self.started)
            self.stream.write("\r" + text + "\x1b[K")
            self.stream.flush()

    def finish(self) -> None:
        """End the line, so what is printed next starts on its own."""
        if self.on and self.shown_at >= 0:
            self.stream.write("\n")
            self.stream.flush()
