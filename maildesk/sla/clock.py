"""The SLA clock: how much response or resolution time a ticket has used (pure).

No I/O and no clock reads: `now` is always passed in. Every instant is timezone-aware
and is handed back in UTC; a desk's local time exists only inside `BusinessCalendar`.

Business hours are local wall-clock hours: a working day with a daylight-saving jump
still runs from `opens` to `closes` on the wall clock (09:00–18:00 is 9 h of business
time on such a day). Calendar-time targets (`Target.business` False) count real elapsed
seconds, so a 24 h target across a DST change ends 23 or 25 wall-clock hours later.

A local time that does not exist (inside a spring-forward gap) means the first instant
the wall clock shows at least that time, i.e. the transition; a time that happens twice
(fall-back) means its first occurrence.

The clock runs while `states.clock_running` says so (recibido, en progreso), pauses in
en espera, stops in validación and cerrado, and runs again after a reopening; see
`running_spans`. `measure` turns those spans and a `Target` into a `Status`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from maildesk.domain import State
from maildesk.tickets.states import clock_running

__all__ = [
    "CALENDAR_24x7",
    "BusinessCalendar",
    "Span",
    "Status",
    "Target",
    "expected_first_answer",
    "measure",
    "running_spans",
]

_ONE_DAY = timedelta(days=1)
_TINY = timedelta(microseconds=1)


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is a caller's bug and raises ValueError."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: the SLA clock needs aware ones")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When a desk works: weekdays (0=Monday … 6=Sunday), local hours, holidays.

    `closes` must be later than `opens`; `time.max` means midnight at the end of the day,
    so `opens=time(0), closes=time.max` on every day is open around the clock.
    """

    timezone: str
    days: frozenset[int]
    opens: time
    closes: time
    holidays: frozenset[date] = frozenset()
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _always: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        days = frozenset(self.days)
        if not days or not days <= frozenset(range(7)):
            raise ValueError(f"working days must be a non-empty subset of 0..6, not {self.days}")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are local wall-clock times, without tzinfo")
        if self.closes <= self.opens:
            raise ValueError(f"closes ({self.closes}) must be later than opens ({self.opens})")
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "_tz", tz)
        always = len(days) == 7 and self.opens == time(0) and self.closes == time.max
        object.__setattr__(self, "_always", always and not self.holidays)

    @classmethod
    def with_country_holidays(
        cls,
        *,
        timezone: str,
        days: frozenset[int],
        opens: time,
        closes: time,
        country: str,
        subdivision: str | None,
        years: Iterable[int],
        extra: Iterable[date] = (),
    ) -> BusinessCalendar:
        """A calendar whose holidays are a country's public holidays (the `holidays`
        package, e.g. country "CL") for `years`, plus the `extra` dates."""
        import holidays as holidays_package

        found = holidays_package.country_holidays(
            country, subdiv=subdivision, years=sorted(set(years))
        )
        return cls(
            timezone=timezone,
            days=frozenset(days),
            opens=opens,
            closes=closes,
            holidays=frozenset(found.keys()) | frozenset(extra),
        )

    # --- local wall clock -> UTC --------------------------------------------------

    def _first_at(self, wall: datetime) -> datetime:
        """The first UTC instant at which the local wall clock shows at least `wall`."""
        tz = self._tz
        first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        if first.astimezone(tz).replace(tzinfo=None) == wall:
            return first  # exists; fold=0 is its first occurrence
        # In a gap: the answer is the transition, between the two readings of `wall`.
        other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        low, high = min(first, other), max(first, other)
        while high - low > _TINY:
            middle = low + (high - low) // 2
            if middle.astimezone(tz).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle
        return high

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants `day` opens and closes, or None when it is not a working day."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        opens = self._first_at(datetime.combine(day, self.opens))
        if self.closes == time.max:
            closes = self._first_at(datetime.combine(day + _ONE_DAY, time(0)))
        else:
            closes = self._first_at(datetime.combine(day, self.closes))
        return opens, closes

    def _windows(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The opening windows, in order, from the one of the day before `at`'s local day.

        Windows never overlap and come in time order (the holidays are finite and some
        weekday works, so the stream never dries up).
        """
        day = at.astimezone(self._tz).date() - _ONE_DAY
        while True:
            window = self._window(day)
            if window is not None and window[0] < window[1]:
                yield window
            day += _ONE_DAY

    # --- the public questions ------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether the desk is working at `at`."""
        at = _utc(at)
        if self._always:
            return True
        local_day = at.astimezone(self._tz).date()
        for day in (local_day - _ONE_DAY, local_day, local_day + _ONE_DAY):
            window = self._window(day)
            if window is not None and window[0] <= at < window[1]:
                return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """`at` itself (in UTC) if the desk is working then, else when it next opens."""
        at = _utc(at)
        if self._always:
            return at
        for opens, closes in self._windows(at):
            if closes > at:
                return max(opens, at)
        raise AssertionError("unreachable: _windows is endless")  # pragma: no cover

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds of business time between `start` and `end` (0 when end <= start)."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return 0.0
        if self._always:
            return (end - start).total_seconds()
        total = timedelta(0)
        for opens, closes in self._windows(start):
            if opens >= end:
                break
            if closes > start:
                total += min(closes, end) - max(opens, start)
        return total.total_seconds()

    def add_business(self, start: datetime, seconds: float) -> datetime:
        """The first instant (UTC) by which `seconds` of business time have passed since
        `start`; `start` itself for 0. A target that ends exactly at closing time is due
        at closing time, not the next morning."""
        start = _utc(start)
        if seconds < 0 or math.isnan(seconds) or math.isinf(seconds):
            raise ValueError(f"seconds must be finite and >= 0, not {seconds}")
        if seconds == 0:
            return start
        if self._always:
            return start + timedelta(seconds=seconds)
        left = timedelta(seconds=seconds)
        for opens, closes in self._windows(start):
            if closes <= start:
                continue
            begin = max(opens, start)
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        raise AssertionError("unreachable: _windows is endless")  # pragma: no cover


# Always open: business time equals calendar time.
CALENDAR_24x7 = BusinessCalendar(
    timezone="UTC", days=frozenset(range(7)), opens=time(0), closes=time.max
)


# --- when the clock ran ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """An interval during which the SLA clock ran; `end` None means it is still running."""

    start: datetime
    end: datetime | None


def running_spans(history: Sequence[tuple[datetime, State]], *, opened_at: datetime) -> list[Span]:
    """The intervals (UTC) in which the clock ran, from a ticket's state transitions.

    `history` holds (when, new state) in time order; the ticket is in recibido from
    `opened_at` (a first entry for the creation itself is welcome but not needed, and
    entries earlier than `opened_at` count from `opened_at`). Adjacent running states
    (recibido → en progreso) make one span; empty spans are left out.
    """
    opened = _utc(opened_at)
    spans: list[Span] = []
    running_since: datetime | None = opened
    last = opened
    for when, state in history:
        moment = max(_utc(when), opened)
        if moment < last:
            raise ValueError(f"history out of order at {moment.isoformat()} ({state.value})")
        last = moment
        if clock_running(state):
            if running_since is None:
                running_since = moment
        elif running_since is not None:
            if moment > running_since:
                spans.append(Span(running_since, moment))
            running_since = None
    if running_since is not None:
        spans.append(Span(running_since, None))
    return spans


# --- targets and how a ticket stands against them -------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A first-response or resolution target, as the config's `Duration` gives it."""

    seconds: int
    business: bool

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError(f"a target cannot be negative ({self.seconds} s)")


@dataclass(frozen=True, slots=True)
class Status:
    """How a ticket stands against one target at a given moment."""

    elapsed: float
    remaining: float
    due_at: datetime | None
    breached: bool
    met: bool | None
    used: float


def measure(
    target: Target,
    spans: Sequence[Span],
    *,
    calendar: BusinessCalendar,
    now: datetime,
    done_at: datetime | None = None,
) -> Status:
    """How much of `target` the clock's `spans` have used, as of `now`.

    `done_at` is when the target's event happened (the first response for a
    first-response target, the resolution for a resolution target); the clock is counted
    up to it, else up to `now`. `calendar` applies only to business-time targets.
    `due_at` is when the target was crossed if it was breached; else, while the clock
    runs, when it will be due if it keeps running from `now`; else None.
    """
    clock = calendar if target.business else CALENDAR_24x7
    now = _utc(now)
    cutoff = _utc(done_at) if done_at is not None else now
    elapsed = 0.0
    crossed: datetime | None = None
    running = False
    for span in spans:
        start = _utc(span.start)
        end = cutoff if span.end is None else min(_utc(span.end), cutoff)
        if span.end is None or _utc(span.end) > cutoff:
            running = running or start <= cutoff
        if end <= start:
            continue
        counted = clock.business_seconds(start, end)
        if crossed is None and elapsed + counted > target.seconds:
            crossed = clock.add_business(start, target.seconds - elapsed)
        elapsed += counted
    remaining = target.seconds - elapsed
    breached = elapsed > target.seconds
    if breached:
        due_at = crossed
    elif done_at is None and running:
        due_at = clock.add_business(now, remaining)
    else:
        due_at = None
    # A zero target is used up by any time at all.
    zero_used = math.inf if elapsed > 0 else 0.0
    used = elapsed / target.seconds if target.seconds else zero_used
    return Status(
        elapsed=elapsed,
        remaining=remaining,
        due_at=due_at,
        breached=breached,
        met=None if done_at is None else not breached,
        used=used,
    )


def expected_first_answer(
    received_at: datetime, target: Target, calendar: BusinessCalendar
) -> datetime:
    """When a resident may expect a first answer, for the acknowledgement mail.

    "Recibimos tu solicitud el sábado; te responderemos el lunes antes de las 10:00."
    """
    clock = calendar if target.business else CALENDAR_24x7
    return clock.add_business(received_at, target.seconds)
