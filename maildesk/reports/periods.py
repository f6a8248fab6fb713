"""Day, week and month buckets in the desk's timezone (pure).

A report covers whole local days, `--from` to `--to` inclusive. A bucket is named by
its first local day (`2026-11-23`; a week starts on Monday, a month on its 1st), the
same name the SQL bucket expressions of `sql.py` give each timestamp.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class By(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def bucket_of(day: date, by: By) -> date:
    """The first local day of the bucket `day` falls in."""
    if by is By.WEEK:
        return day - timedelta(days=day.weekday())
    if by is By.MONTH:
        return day.replace(day=1)
    return day


def _next(first: date, by: By) -> date:
    if by is By.WEEK:
        return first + timedelta(days=7)
    if by is By.MONTH:
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first + timedelta(days=1)


def local_midnight(day: date, timezone: str) -> datetime:
    """The UTC instant a local day starts."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """What a report covers: local days `first`..`last` inclusive, bucketed `by`."""

    first: date
    last: date
    by: By
    timezone: str

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"--to {self.last} is before --from {self.first}")

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.timezone)

    @property
    def end(self) -> datetime:
        """The first instant after the window (exclusive)."""
        return local_midnight(self.last + timedelta(days=1), self.timezone)

    def buckets(self) -> list[date]:
        """Every bucket the window touches, in order (the first may begin before `first`)."""
        out: list[date] = []
        current = bucket_of(self.first, self.by)
        while current <= self.last:
            out.append(current)
            current = _next(current, self.by)
        return out

    def bucket_end(self, first: date) -> datetime:
        """When the bucket named `first` ends, never after the window's end."""
        return min(local_midnight(_next(first, self.by), self.timezone), self.end)
