"""The escalation policy: which level hears of which target, and when (pure, with plain times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maildesk.config import Config
from maildesk.domain import State
from maildesk.sla.clock import BusinessCalendar, CALENDAR_24x7
from maildesk.sla.policy import Facts, Level, calendar_for, due, next_check, statuses

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a Tuesday


def facts(
    priority: str = "alta",
    *,
    hours: float = 0,
    first: float | None = None,
    resolved: float | None = None,
    unhappy: bool = False,
    history: tuple[tuple[float, State], ...] = (),
) -> Facts:
    return Facts(
        number=1,
        priority=priority,
        opened_at=T0,
        history=((T0, State.RECIBIDO), *((T0 + timedelta(hours=h), s) for h, s in history)),
        first_response_at=T0 + timedelta(hours=first) if first is not None else None,
        resolved_at=T0 + timedelta(hours=resolved) if resolved is not None else None,
        unhappy=unhappy,
    )


def levels(f: Facts, after: timedelta) -> set[tuple[str, Level]]:
    config = Config()
    now = f.opened_at + after
    return {
        (d.target, d.level) for d in due(f, statuses(f, config, CALENDAR_24x7, now), config, now)
    }


@pytest.mark.parametrize(
    ("case", "after", "expected"),
    [
        (facts(), timedelta(minutes=30), set()),
        (facts(), timedelta(minutes=46), {("first_response", Level.ASSIGNEE)}),
        (
            facts(),
            timedelta(minutes=61),
            {("first_response", Level.ASSIGNEE), ("first_response", Level.SUPERVISOR)},
        ),
        (
            facts(),
            timedelta(minutes=91),
            {
                ("first_response", Level.ASSIGNEE),
                ("first_response", Level.SUPERVISOR),
                ("first_response", Level.MANAGER),
            },
        ),
        (
            facts(),
            timedelta(minutes=121),
            {
                ("first_response", Level.ASSIGNEE),
                ("first_response", Level.SUPERVISOR),
                ("first_response", Level.MANAGER),
                ("first_response", Level.DIRECTOR),
            },
        ),
        (
            facts("media"),
            timedelta(hours=9),
            {
                ("first_response", Level.ASSIGNEE),
                ("first_response", Level.SUPERVISOR),
                ("first_response", Level.MANAGER),
            },
        ),
        (facts(first=0.5), timedelta(hours=7), {("resolution", Level.ASSIGNEE)}),
        (facts(first=0.5, resolved=7), timedelta(hours=30), set()),
        (facts("baja", first=1), timedelta(hours=25), {("open", Level.MANAGER)}),
        (facts("baja", first=1, unhappy=True), timedelta(hours=2), {("unhappy", Level.DIRECTOR)}),
        (
            facts(first=0.5, history=((1, State.EN_ESPERA), (20, State.EN_PROGRESO))),
            timedelta(hours=20),
            set(),
        ),
    ],
    ids=[
        "fresh",
        "at-risk",
        "broken",
        "broken-by-margin",
        "alta-twice-over",
        "media-no-director",
        "resolution-at-risk",
        "resolved",
        "open-24h",
        "unhappy",
        "paused-in-espera",
    ],
)
def test_levels(case: Facts, after: timedelta, expected: set[tuple[str, Level]]) -> None:
    """Each level fires at its threshold and not before; met targets and pauses hold escalations back."""
    assert levels(case, after) == expected


def test_calendar_from_config_knows_chilean_holidays() -> None:
    """The default calendar is Monday to Friday, 9 to 18, with Chile's holidays (18 September)."""
    calendar = calendar_for(Config(), [2026])
    assert not calendar.is_open(datetime(2026, 9, 18, 13, 0, tzinfo=UTC))
    assert calendar.is_open(datetime(2026, 9, 22, 13, 0, tzinfo=UTC))
    assert not calendar.is_open(datetime(2026, 9, 26, 13, 0, tzinfo=UTC))  # Saturday


def _due_at(f: Facts, cal: BusinessCalendar, now: datetime) -> set[tuple[str, Level]]:
    config = Config()
    return {(d.target, d.level) for d in due(f, statuses(f, config, cal, now), config, now)}


@pytest.mark.parametrize("business", [False, True])
@pytest.mark.parametrize(
    "case",
    [
        facts(),
        facts("media"),
        facts("baja", first=1),
        facts("media", history=((2, State.EN_ESPERA), (30, State.EN_PROGRESO))),
    ],
)
def test_next_check_is_never_later_than_a_new_escalation(case: Facts, business: bool) -> None:
    """Walking two days in 10-minute steps, no (target, level) becomes due before the
    check `next_check` set, so a pass that reads only due tickets misses nothing."""
    config = Config()
    cal = calendar_for(config, [2026]) if business else CALENDAR_24x7
    now, checks = T0, 0
    while now < T0 + timedelta(days=2):
        seen = _due_at(case, cal, now)
        check = next_check(case, config, cal, now)
        assert check is None or check > now
        step = now + timedelta(minutes=10)
        while step < T0 + timedelta(days=2) and (check is None or step < check):
            assert _due_at(case, cal, step) <= seen, (now, step, check)
            step += timedelta(minutes=10)
        if check is None:
            break
        now, checks = check, checks + 1
    assert checks >= 2


def test_next_check_ends_when_nothing_can_escalate() -> None:
    """A resolved ticket, or one waiting on the resident past its day, needs no more checks."""
    config = Config()
    resolved = facts(first=0.2, resolved=1)
    assert next_check(resolved, config, CALENDAR_24x7, T0 + timedelta(hours=2)) is None
    waiting = facts("media", first=0.5, history=((1, State.EN_ESPERA),))
    assert next_check(waiting, config, CALENDAR_24x7, T0 + timedelta(hours=30)) is None
    assert next_check(waiting, config, CALENDAR_24x7, T0 + timedelta(hours=2)) == T0 + timedelta(
        hours=24
    )
