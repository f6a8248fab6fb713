"""The SLA clock's business time, indexed for many tickets at once (pure).

`sla.BusinessCalendar.business_seconds` walks day by day, which is right for one
ticket and slow for a year of them. `BusinessIndex` asks the calendar once per day
for its opening window, keeps the running total, and answers any interval with two
binary searches: the same seconds, checked against the calendar in the tests.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from maildesk.reports.periods import local_midnight
from maildesk.sla.clock import BusinessCalendar, Span


class BusinessIndex:
    """Business seconds of `calendar` between instants from `first` to `last` (local days)."""

    def __init__(self, calendar: BusinessCalendar, first: date, last: date) -> None:
        self._low = local_midnight(first, calendar.timezone).timestamp()
        self._high = local_midnight(last + timedelta(days=1), calendar.timezone).timestamp()
        self._opens: list[float] = []
        self._lengths: list[float] = []
        self._before: list[float] = []
        total = 0.0
        day = first
        while day <= last:
            midnight = local_midnight(day, calendar.timezone)
            length = calendar.business_seconds(
                midnight, local_midnight(day + timedelta(days=1), calendar.timezone)
            )
            if length > 0:
                self._opens.append(calendar.next_open(midnight).timestamp())
                self._lengths.append(length)
                self._before.append(total)
                total += length
            day += timedelta(days=1)

    def _upto(self, moment: float) -> float:
        if not self._low <= moment <= self._high:
            raise ValueError("instant outside the indexed days")
        i = bisect_right(self._opens, moment) - 1
        if i < 0:
            return 0.0
        return self._before[i] + min(moment - self._opens[i], self._lengths[i])

    def seconds(self, start: datetime, end: datetime) -> float:
        """Business seconds in [start, end) (0 when end <= start)."""
        if end <= start:
            return 0.0
        return self._upto(end.timestamp()) - self._upto(start.timestamp())

    def clock(self, spans: Sequence[Span], done_at: datetime, *, business: bool) -> float:
        """Seconds the SLA clock ran in `spans` up to `done_at`: business or real seconds,
        as `sla.clock.measure` counts them for a target of that kind."""
        total = 0.0
        for span in spans:
            end = done_at if span.end is None else min(span.end, done_at)
            if end <= span.start:
                continue
            total += (
                self.seconds(span.start, end) if business else (end - span.start).total_seconds()
            )
        return total
