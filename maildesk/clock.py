"""Time as a seam: the daemon reads a `Clock`, tests hand it one they control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, always aware and in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to; for tests and dry runs."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


def as_utc(moment: datetime) -> datetime:
    """A naive datetime (as SQLite may return) taken as UTC, so it compares with aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
