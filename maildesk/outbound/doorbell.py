"""Wake the outbox the moment mail is committed to it, instead of letting it sleep a fixed pause.

A resident's confirmation is queued in the intake's transaction; the outbox loop used to
find it only at its next pass, up to `OUTBOX_SECONDS` later. `enqueue` marks its session,
and the session's commit rings this process's bell; every outbox loop of the process
waits on it (with its pause as the longest wait, for mail queued by another process or
made due by time). A ring before the commit would wake a worker to find nothing, so the
bell follows the commit, never the insert.
"""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.orm import Session

_QUEUED = "maildesk.outbox.queued"


class Doorbell:
    """A generation counter under a condition: a ring is never missed between two waits."""

    def __init__(self) -> None:
        self._rung = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        with self._rung:
            return self._generation

    def ring(self) -> None:
        with self._rung:
            self._generation += 1
            self._rung.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Until a ring after generation `seen`, or `timeout`; the generation now."""
        with self._rung:
            self._rung.wait_for(lambda: self._generation != seen, timeout)
            return self._generation


BELL = Doorbell()
"""The process's bell: the outbox loops of every desk in `maildesk run` wait on it."""


def mark_queued(session: Session) -> None:
    """Called by `outbox.enqueue`: ring the bell when this session commits."""
    session.info[_QUEUED] = True


@event.listens_for(Session, "after_commit")
def _ring_after_commit(session: Session) -> None:
    if session.info.pop(_QUEUED, False):
        BELL.ring()


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_QUEUED, None)
