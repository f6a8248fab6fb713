"""A progress line for long commands (backup, restore, purge) on an operator's terminal.

Only a terminal gets it: cron mail, pipes and logs stay free of carriage returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def line(label: str, done: int, total: int, elapsed: float) -> str:
    """`label: 40/200 (20%), about 12 s left`; the time left is a plain linear guess."""
    share = done / total if total else 1.0
    text = f"{label}: {done}/{total} ({share:.0%})"
    if 0 < done < total:
        left = elapsed * (total - done) / done
        text += f", about {left:.0f} s left" if left < 120 else f", about {left / 60:.0f} min left"
    return text


class Progress:
    """Counts steps and rewrites one line on a terminal at most a few times a second."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream if stream is not None else sys.stdout
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
