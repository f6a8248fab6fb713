"""The threads of one process take SQLite's write lock in turn, first come first served.

SQLite has one write lock, and a writer that finds it taken sleeps in its busy handler
(up to 100 ms a nap) and tries again; a thread that commits and begins again at once
(the intake working a batch) wins nearly every time, and the outbox's one-line "sent"
record could wait many seconds behind it. Here each unit of work of the process takes a
numbered turn before `BEGIN IMMEDIATE`, so the threads alternate; another process
(`maildesk ingest` from the MTA) still meets the busy handler, as before. A thread that
already holds a turn is not made to wait for itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WriteTurns:
    """A ticket lock: turns are served in the order they were taken."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._changed = threading.Condition()
        self._next = 0
        self._serving = 0
        self._holder: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        me = threading.get_ident()
        if not self.enabled or self._holder == me:
            yield
            return
        with self._changed:
            ticket = self._next
            self._next += 1
            self._changed.wait_for(lambda: self._serving == ticket)
            self._holder = me
        try:
            yield
        finally:
            with self._changed:
                self._holder = None
                self._serving += 1
                self._changed.notify_all()
