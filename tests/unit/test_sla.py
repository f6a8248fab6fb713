"""The SLA clock: business calendars, running spans, targets (maildesk.sla.clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from maildesk.domain import State
from maildesk.sla.clock import (
    BusinessCalendar,
    CALENDAR_24x7,
    Span,
    Target,
    expected_first_answer,
    measure,
    running_spans,
)

SCL = ZoneInfo("America/Santiago")
MAD = ZoneInfo("Europe/Madrid")
R, P, E, V, C = (
    State.RECIBIDO,
    State.EN_PROGRESO,
    State.EN_ESPERA,
    State.VALIDACION,
    State.CERRADO,
)
HOUR = 3600
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))

# Santiago, Monday to Friday 09:00–18:00, no holidays.
OFFICE = BusinessCalendar("America/Santiago", WEEKDAYS, time(9), time(18))
# The same, with Chile's public holidays for 2026 (18 and 19 September among them).
CHILE = BusinessCalendar.with_country_holidays(
    timezone="America/Santiago",
    days=WEEKDAYS,
    opens=time(9),
    closes=time(18),
    country="CL",
    subdivision=None,
    years=[2026],
)
# Chile's holidays plus a desk's own day off, Thursday 17 September 2026.
CHILE_EXTRA = BusinessCalendar.with_country_holidays(
    timezone="America/Santiago",
    days=WEEKDAYS,
    opens=time(9),
    closes=time(18),
    country="CL",
    subdivision=None,
    years=[2026],
    extra=[date(2026, 9, 17)],
)
# Every day 09:00–18:00, so the DST Sundays are working days.
SCL_DAILY = BusinessCalendar("America/Santiago", EVERY_DAY, time(9), time(18))
MAD_DAILY = BusinessCalendar("Europe/Madrid", EVERY_DAY, time(9), time(18))
# Santiago almost around the clock: 00:00 falls in the September gap.
SCL_LONG = BusinessCalendar("America/Santiago", EVERY_DAY, time(0), time(23, 59))
# A Madrid shift opening at 02:30, a time skipped in March and lived twice in October.
MAD_NIGHT = BusinessCalendar("Europe/Madrid", EVERY_DAY, time(2, 30), time(12))


@pytest.mark.parametrize(
    ("before", "after", "offset_before", "offset_after"),
    [
        pytest.param(
            datetime(2026, 4, 4, 23, 59, tzinfo=SCL),
            datetime(2026, 4, 5, 0, 1, tzinfo=SCL),
            -3,
            -4,
            id="santiago-2026-04-05",
        ),
        pytest.param(
            datetime(2026, 9, 5, 23, 59, tzinfo=SCL),
            datetime(2026, 9, 6, 1, 1, tzinfo=SCL),
            -4,
            -3,
            id="santiago-2026-09-06",
        ),
        pytest.param(
            datetime(2026, 3, 29, 1, 59, tzinfo=MAD),
            datetime(2026, 3, 29, 3, 1, tzinfo=MAD),
            1,
            2,
            id="madrid-2026-03-29",
        ),
        pytest.param(
            datetime(2026, 10, 25, 1, 59, tzinfo=MAD),
            datetime(2026, 10, 25, 3, 1, tzinfo=MAD),
            2,
            1,
            id="madrid-2026-10-25",
        ),
    ],
)
def test_dst_dates_are_the_real_ones(
    before: datetime, after: datetime, offset_before: int, offset_after: int
) -> None:
    """The DST transitions the other tests rely on happen where zoneinfo puts them."""
    assert before.utcoffset() == timedelta(hours=offset_before)
    assert after.utcoffset() == timedelta(hours=offset_after)


def test_country_holidays_come_from_the_holidays_package() -> None:
    """with_country_holidays loads Chile's 18 September and adds the extra dates."""
    assert date(2026, 9, 18) in CHILE.holidays
    assert date(2026, 9, 17) not in CHILE.holidays
    assert date(2026, 9, 17) in CHILE_EXTRA.holidays
    assert date(2026, 9, 18) in CHILE_EXTRA.holidays


@pytest.mark.parametrize(
    ("calendar", "start", "seconds", "due"),
    [
        pytest.param(
            OFFICE,
            datetime(2026, 3, 10, 10, tzinfo=SCL),
            2 * HOUR,
            datetime(2026, 3, 10, 12, tzinfo=SCL),
            id="within-the-day",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 10, 17, 30, tzinfo=SCL),
            HOUR,
            datetime(2026, 3, 11, 9, 30, tzinfo=SCL),
            id="night",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 10, 17, tzinfo=SCL),
            HOUR,
            datetime(2026, 3, 10, 18, tzinfo=SCL),
            id="ends-at-closing",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 10, 7, tzinfo=SCL),
            HOUR,
            datetime(2026, 3, 10, 10, tzinfo=SCL),
            id="before-opening",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 13, 17, tzinfo=SCL),
            2 * HOUR,
            datetime(2026, 3, 16, 10, tzinfo=SCL),
            id="weekend",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 9, 9, tzinfo=SCL),
            5 * 9 * HOUR,
            datetime(2026, 3, 13, 18, tzinfo=SCL),
            id="whole-week",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 9, 17, 17, tzinfo=SCL),
            2 * HOUR,
            datetime(2026, 9, 18, 10, tzinfo=SCL),
            id="no-holidays-known",
        ),
        pytest.param(
            CHILE,
            datetime(2026, 9, 17, 17, tzinfo=SCL),
            2 * HOUR,
            datetime(2026, 9, 21, 10, tzinfo=SCL),
            id="fiestas-patrias",
        ),
        pytest.param(
            CHILE_EXTRA,
            datetime(2026, 9, 16, 17, tzinfo=SCL),
            2 * HOUR,
            datetime(2026, 9, 21, 10, tzinfo=SCL),
            id="extra-holiday",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 14, 11, tzinfo=SCL),
            0,
            datetime(2026, 3, 14, 11, tzinfo=SCL),
            id="zero-is-start",
        ),
        pytest.param(
            SCL_DAILY,
            datetime(2026, 4, 4, 17, tzinfo=SCL),
            2 * HOUR,
            datetime(2026, 4, 5, 10, tzinfo=SCL),
            id="santiago-dst-end-business",
        ),
        pytest.param(
            MAD_DAILY,
            datetime(2026, 3, 28, 17, tzinfo=MAD),
            2 * HOUR,
            datetime(2026, 3, 29, 10, tzinfo=MAD),
            id="madrid-dst-start-business",
        ),
        pytest.param(
            CALENDAR_24x7,
            datetime(2026, 4, 4, 12, tzinfo=SCL),
            24 * HOUR,
            datetime(2026, 4, 5, 11, tzinfo=SCL),
            id="santiago-24h-across-dst-end",
        ),
        pytest.param(
            CALENDAR_24x7,
            datetime(2026, 9, 5, 12, tzinfo=SCL),
            24 * HOUR,
            datetime(2026, 9, 6, 13, tzinfo=SCL),
            id="santiago-24h-across-dst-start",
        ),
        pytest.param(
            CALENDAR_24x7,
            datetime(2026, 3, 28, 12, tzinfo=MAD),
            24 * HOUR,
            datetime(2026, 3, 29, 13, tzinfo=MAD),
            id="madrid-24h-across-dst-start",
        ),
        pytest.param(
            CALENDAR_24x7,
            datetime(2026, 10, 24, 12, tzinfo=MAD),
            24 * HOUR,
            datetime(2026, 10, 25, 11, tzinfo=MAD),
            id="madrid-24h-across-dst-end",
        ),
    ],
)
def test_add_business(
    calendar: BusinessCalendar, start: datetime, seconds: int, due: datetime
) -> None:
    """add_business skips nights, weekends and holidays, and keeps real seconds in 24x7."""
    result = calendar.add_business(start, seconds)
    assert result == due
    assert result.tzinfo is UTC
    assert calendar.business_seconds(start, result) == seconds


@pytest.mark.parametrize(
    ("calendar", "start", "end", "seconds"),
    [
        pytest.param(
            OFFICE,
            datetime(2026, 3, 10, 17, tzinfo=SCL),
            datetime(2026, 3, 11, 10, tzinfo=SCL),
            2 * HOUR,
            id="overnight",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 13, 17, tzinfo=SCL),
            datetime(2026, 3, 16, 10, tzinfo=SCL),
            2 * HOUR,
            id="weekend",
        ),
        pytest.param(
            CHILE,
            datetime(2026, 9, 17, 12, tzinfo=SCL),
            datetime(2026, 9, 21, 12, tzinfo=SCL),
            9 * HOUR,
            id="holiday",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 11, 10, tzinfo=SCL),
            datetime(2026, 3, 10, 10, tzinfo=SCL),
            0,
            id="end-before-start",
        ),
        pytest.param(
            SCL_DAILY,
            datetime(2026, 4, 5, 0, tzinfo=SCL),
            datetime(2026, 4, 6, 0, tzinfo=SCL),
            9 * HOUR,
            id="santiago-25h-day-has-9bh",
        ),
        pytest.param(
            SCL_DAILY,
            datetime(2026, 9, 5, 20, tzinfo=SCL),
            datetime(2026, 9, 7, 0, tzinfo=SCL),
            9 * HOUR,
            id="santiago-23h-day-has-9bh",
        ),
        pytest.param(
            MAD_DAILY,
            datetime(2026, 3, 28, 12, tzinfo=MAD),
            datetime(2026, 3, 30, 12, tzinfo=MAD),
            18 * HOUR,
            id="madrid-spring-weekend",
        ),
        pytest.param(
            MAD_DAILY,
            datetime(2026, 10, 24, 12, tzinfo=MAD),
            datetime(2026, 10, 26, 12, tzinfo=MAD),
            18 * HOUR,
            id="madrid-autumn-weekend",
        ),
        pytest.param(
            SCL_LONG,
            datetime(2026, 9, 5, 23, 59, tzinfo=SCL),
            datetime(2026, 9, 6, 23, 59, tzinfo=SCL),
            (22 * 60 + 59) * 60,
            id="santiago-opening-in-the-gap-waits-for-01:00",
        ),
        pytest.param(
            MAD_NIGHT,
            datetime(2026, 3, 29, 0, tzinfo=MAD),
            datetime(2026, 3, 29, 23, tzinfo=MAD),
            9 * HOUR,
            id="madrid-02:30-skipped-opens-at-03:00",
        ),
        pytest.param(
            MAD_NIGHT,
            datetime(2026, 10, 25, 0, tzinfo=MAD),
            datetime(2026, 10, 25, 23, tzinfo=MAD),
            10.5 * HOUR,
            id="madrid-02:30-twice-opens-at-the-first",
        ),
        pytest.param(
            CALENDAR_24x7,
            datetime(2026, 4, 4, 12, tzinfo=SCL),
            datetime(2026, 4, 5, 12, tzinfo=SCL),
            25 * HOUR,
            id="24x7-counts-real-seconds",
        ),
    ],
)
def test_business_seconds(
    calendar: BusinessCalendar, start: datetime, end: datetime, seconds: float
) -> None:
    """business_seconds counts only local working hours, whatever the DST changes."""
    assert calendar.business_seconds(start, end) == seconds


@pytest.mark.parametrize(
    ("calendar", "at", "is_open", "next_open"),
    [
        pytest.param(
            OFFICE,
            datetime(2026, 3, 10, 10, tzinfo=SCL),
            True,
            datetime(2026, 3, 10, 10, tzinfo=SCL),
            id="open",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 10, 18, tzinfo=SCL),
            False,
            datetime(2026, 3, 11, 9, tzinfo=SCL),
            id="closing-time-is-closed",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 10, 8, 59, tzinfo=SCL),
            False,
            datetime(2026, 3, 10, 9, tzinfo=SCL),
            id="early-morning",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 14, 12, tzinfo=SCL),
            False,
            datetime(2026, 3, 16, 9, tzinfo=SCL),
            id="saturday",
        ),
        pytest.param(
            CHILE,
            datetime(2026, 9, 18, 10, tzinfo=SCL),
            False,
            datetime(2026, 9, 21, 9, tzinfo=SCL),
            id="holiday",
        ),
        pytest.param(
            CALENDAR_24x7,
            datetime(2026, 3, 14, 3, tzinfo=SCL),
            True,
            datetime(2026, 3, 14, 3, tzinfo=SCL),
            id="24x7",
        ),
    ],
)
def test_is_open_and_next_open(
    calendar: BusinessCalendar, at: datetime, is_open: bool, next_open: datetime
) -> None:
    """is_open follows the local hours; next_open is `at` itself when open."""
    assert calendar.is_open(at) is is_open
    assert calendar.next_open(at) == next_open


T0 = datetime(2026, 3, 10, 9, tzinfo=SCL)  # a Tuesday
T1 = datetime(2026, 3, 10, 10, tzinfo=SCL)
T2 = datetime(2026, 3, 10, 11, tzinfo=SCL)
T3 = datetime(2026, 3, 10, 12, tzinfo=SCL)
T4 = datetime(2026, 3, 10, 13, tzinfo=SCL)


@pytest.mark.parametrize(
    ("history", "spans"),
    [
        pytest.param([(T0, R)], [Span(T0, None)], id="just-created"),
        pytest.param([], [Span(T0, None)], id="no-history-runs-from-opening"),
        pytest.param([(T0, R), (T1, P)], [Span(T0, None)], id="taking-keeps-running"),
        pytest.param(
            [(T0, R), (T1, P), (T2, E), (T3, P)],
            [Span(T0, T2), Span(T3, None)],
            id="pause",
        ),
        pytest.param([(T0, R), (T1, P), (T2, V)], [Span(T0, T2)], id="stops-at-validacion"),
        pytest.param(
            [(T0, R), (T1, V), (T2, C), (T3, P)],
            [Span(T0, T1), Span(T3, None)],
            id="reopened",
        ),
        pytest.param(
            [(T0, R), (T1, V), (T2, P), (T3, V)],
            [Span(T0, T1), Span(T2, T3)],
            id="rejected-then-resolved",
        ),
        pytest.param(
            [(T0, R), (T0, E), (T1, C)],
            [],
            id="waiting-from-the-start-never-runs",
        ),
        pytest.param(
            [(datetime(2026, 3, 10, 8, 59, tzinfo=SCL), R), (T1, E)],
            [Span(T0, T1)],
            id="earlier-than-opening-counts-from-opening",
        ),
    ],
)
def test_running_spans(history: list[tuple[datetime, State]], spans: list[Span]) -> None:
    """The clock runs in recibido/en progreso, pauses in en espera, stops in validación."""
    assert running_spans(history, opened_at=T0) == spans


def test_running_spans_rejects_history_out_of_order() -> None:
    """A history that goes back in time is a caller's bug, not something to guess at."""
    with pytest.raises(ValueError, match="out of order"):
        running_spans([(T0, R), (T2, E), (T1, P)], opened_at=T0)


@pytest.mark.parametrize(
    ("target", "history", "now", "done_at", "elapsed", "due_at", "breached", "met", "used"),
    [
        pytest.param(
            Target(4 * HOUR, True),
            [(T0, R), (datetime(2026, 3, 10, 9, 30, tzinfo=SCL), P), (T1, E), (T4, P)],
            datetime(2026, 3, 10, 14, tzinfo=SCL),
            None,
            2 * HOUR,
            datetime(2026, 3, 10, 16, tzinfo=SCL),
            False,
            None,
            0.5,
            id="three-hours-waiting-do-not-count",
        ),
        pytest.param(
            Target(4 * HOUR, True),
            [(T0, R)],
            T3,
            None,
            3 * HOUR,
            T4,
            False,
            None,
            0.75,
            id="at-risk-75-percent",
        ),
        pytest.param(
            Target(HOUR, True),
            [(T0, R)],
            datetime(2026, 3, 10, 10, 30, tzinfo=SCL),
            None,
            1.5 * HOUR,
            T1,
            True,
            None,
            1.5,
            id="breached-while-pending",
        ),
        pytest.param(
            Target(HOUR, True),
            [(T0, R)],
            T3,
            datetime(2026, 3, 10, 9, 45, tzinfo=SCL),
            0.75 * HOUR,
            None,
            False,
            True,
            0.75,
            id="answered-in-time",
        ),
        pytest.param(
            Target(HOUR, True),
            [(T0, R)],
            T3,
            T1,
            HOUR,
            None,
            False,
            True,
            1.0,
            id="answered-exactly-at-the-deadline",
        ),
        pytest.param(
            Target(HOUR, True),
            [(T0, R)],
            T3,
            T2,
            2 * HOUR,
            T1,
            True,
            False,
            2.0,
            id="answered-late",
        ),
        pytest.param(
            Target(8 * HOUR, True),
            [(T0, R), (T1, P), (T2, V)],
            datetime(2026, 3, 11, 12, tzinfo=SCL),
            None,
            2 * HOUR,
            None,
            False,
            None,
            0.25,
            id="stopped-at-validacion",
        ),
        pytest.param(
            Target(8 * HOUR, True),
            [(T0, R), (T2, V), (T3, C), (datetime(2026, 3, 11, 10, tzinfo=SCL), P)],
            datetime(2026, 3, 11, 12, tzinfo=SCL),
            None,
            4 * HOUR,
            datetime(2026, 3, 11, 16, tzinfo=SCL),
            False,
            None,
            0.5,
            id="reopened-counts-again",
        ),
        pytest.param(
            Target(HOUR, True),
            [(T0, R), (T2, E)],
            datetime(2026, 3, 10, 15, tzinfo=SCL),
            None,
            2 * HOUR,
            T1,
            True,
            None,
            2.0,
            id="paused-after-breach-keeps-the-due-time",
        ),
        pytest.param(
            Target(4 * HOUR, True),
            [(T0, R), (T1, E)],
            T4,
            None,
            HOUR,
            None,
            False,
            None,
            0.25,
            id="paused-has-no-due-time",
        ),
        pytest.param(
            Target(4 * HOUR, True),
            [(T0, R), (T1, E), (T4, V)],
            datetime(2026, 3, 11, 9, tzinfo=SCL),
            T4,
            HOUR,
            None,
            False,
            True,
            0.25,
            id="resolved-after-waiting",
        ),
        pytest.param(
            Target(HOUR, True),
            [(datetime(2026, 3, 10, 17, 30, tzinfo=SCL), R)],
            datetime(2026, 3, 10, 20, tzinfo=SCL),
            None,
            0.5 * HOUR,
            datetime(2026, 3, 11, 9, 30, tzinfo=SCL),
            False,
            None,
            0.5,
            id="evening-ticket-due-next-morning",
        ),
        pytest.param(
            Target(HOUR, False),
            [(datetime(2026, 3, 10, 17, 30, tzinfo=SCL), R)],
            datetime(2026, 3, 10, 20, tzinfo=SCL),
            None,
            2.5 * HOUR,
            datetime(2026, 3, 10, 18, 30, tzinfo=SCL),
            True,
            None,
            2.5,
            id="calendar-target-ignores-office-hours",
        ),
        pytest.param(
            Target(24 * HOUR, False),
            [(datetime(2026, 4, 4, 12, tzinfo=SCL), R)],
            datetime(2026, 4, 5, 11, tzinfo=SCL),
            None,
            24 * HOUR,
            datetime(2026, 4, 5, 11, tzinfo=SCL),
            False,
            None,
            1.0,
            id="calendar-target-across-santiago-dst-end",
        ),
        pytest.param(
            Target(24 * HOUR, False),
            [(datetime(2026, 3, 28, 12, tzinfo=MAD), R)],
            datetime(2026, 3, 29, 12, tzinfo=MAD),
            None,
            23 * HOUR,
            datetime(2026, 3, 29, 13, tzinfo=MAD),
            False,
            None,
            23 / 24,
            id="calendar-target-across-madrid-dst-start",
        ),
    ],
)
def test_measure(
    target: Target,
    history: list[tuple[datetime, State]],
    now: datetime,
    done_at: datetime | None,
    elapsed: float,
    due_at: datetime | None,
    breached: bool,
    met: bool | None,
    used: float,
) -> None:
    """measure counts only running business time and says when the target is (was) due."""
    spans = running_spans(history, opened_at=history[0][0])
    status = measure(target, spans, calendar=OFFICE, now=now, done_at=done_at)
    assert status.elapsed == elapsed
    assert status.remaining == target.seconds - elapsed
    assert status.due_at == due_at
    assert status.breached is breached
    assert status.met is met
    assert status.used == pytest.approx(used)


@pytest.mark.parametrize(
    ("calendar", "received_at", "target", "expected"),
    [
        pytest.param(
            OFFICE,
            datetime(2026, 3, 14, 11, tzinfo=SCL),
            Target(HOUR, True),
            datetime(2026, 3, 16, 10, tzinfo=SCL),
            id="saturday-monday-before-10",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 14, 11, tzinfo=SCL),
            Target(4 * HOUR, True),
            datetime(2026, 3, 16, 13, tzinfo=SCL),
            id="saturday-4bh",
        ),
        pytest.param(
            OFFICE,
            datetime(2026, 3, 14, 11, tzinfo=SCL),
            Target(24 * HOUR, False),
            datetime(2026, 3, 15, 11, tzinfo=SCL),
            id="saturday-calendar-24h",
        ),
        pytest.param(
            CHILE,
            datetime(2026, 9, 19, 11, tzinfo=SCL),
            Target(HOUR, True),
            datetime(2026, 9, 21, 10, tzinfo=SCL),
            id="saturday-holiday",
        ),
    ],
)
def test_expected_first_answer(
    calendar: BusinessCalendar, received_at: datetime, target: Target, expected: datetime
) -> None:
    """The acknowledgement promises the first answer at the business-time deadline."""
    assert expected_first_answer(received_at, target, calendar) == expected


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda: BusinessCalendar("America/Santiago", WEEKDAYS, time(18), time(9)),
            id="closes-before-opens",
        ),
        pytest.param(
            lambda: BusinessCalendar("America/Santiago", frozenset(), time(9), time(18)),
            id="no-working-days",
        ),
        pytest.param(
            lambda: BusinessCalendar("Mars/Olympus", WEEKDAYS, time(9), time(18)),
            id="unknown-zone",
        ),
        pytest.param(lambda: OFFICE.is_open(datetime(2026, 3, 10, 10)), id="naive-datetime"),
        pytest.param(lambda: OFFICE.add_business(T0, -1), id="negative-seconds"),
        pytest.param(lambda: Target(-1, True), id="negative-target"),
    ],
)
def test_invalid_input_raises(build: object) -> None:
    """Bad calendars, naive datetimes and negative times are refused with ValueError."""
    assert callable(build)
    with pytest.raises(ValueError):
        build()
