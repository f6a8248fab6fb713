"""The digest's figures against a set of tickets checked by hand, and when periodic jobs are due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from maildesk.config import Config, EscalationConfig
from maildesk.sla.digest import TicketFacts, figures
from maildesk.sla.jobs import due_jobs

DAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def t(
    n: int,
    state: str,
    opened_h: float,
    first_h: float | None = None,
    closed_h: float | None = None,
    fr_breached: bool = False,
    res_breached: bool = False,
    overdue_h: float = 0,
) -> TicketFacts:
    at = lambda h: DAY + timedelta(hours=h) if h is not None else None  # noqa: E731
    return TicketFacts(
        n,
        f"T{n}",
        state,
        DAY + timedelta(hours=opened_h),
        at(first_h),
        at(closed_h),
        at(closed_h),
        fr_breached,
        res_breached,
        overdue_h * 3600,
        None,
        "mantenimiento",
    )


TICKETS = [
    t(
        1, "cerrado", -30, -29, 2
    ),  # opened before the period, closed in it: 32 h to resolve, within SLA
    t(2, "cerrado", 1, 2, 5),  # new, answered in 1 h, closed in 4 h
    t(
        3, "cerrado", 3, 6, 20, fr_breached=True
    ),  # new, answered in 3 h, closed in 17 h, first response late
    t(4, "en_progreso", 4, 4.5),  # new, answered in 0.5 h, still open
    t(5, "recibido", 10, fr_breached=True, overdue_h=9),  # new, unanswered and 9 h late
    t(6, "en_espera", -50, -49, res_breached=True, overdue_h=30),  # old, waiting, 30 h late
    t(7, "cerrado", -80, -79, -60),  # closed before the period: not counted
    t(8, "recibido", 25),  # opened after the period
]


def test_figures_match_the_hand_count() -> None:
    """New 4, closed 3, medians 1.0 h / 17.0 h, 66.7 % within SLA, overdue most-late first, oldest waiting first."""
    f = figures(TICKETS, start=DAY, end=DAY + timedelta(days=1))
    assert (f.new, f.closed) == (4, 3)
    assert f.first_response_median_h == 1.0  # answered in the period: #2 1 h, #3 3 h, #4 0.5 h
    assert f.resolution_median_h == 17.0  # #1 32 h, #2 4 h, #3 17 h
    assert f.within_sla_pct == 66.7  # #1 and #2 of #1, #2, #3
    assert f.backlog == {"en_progreso": 1, "recibido": 2, "en_espera": 1}
    assert [x.number for x in f.overdue] == [6, 5]
    assert [x.number for x in f.worst_waiting] == [6, 4, 5, 8]


def test_empty_period_has_no_medians() -> None:
    """A quiet day gives zeros and no made-up medians."""
    f = figures([], start=DAY, end=DAY + timedelta(days=1))
    assert (f.new, f.closed, f.first_response_median_h, f.within_sla_pct, f.overdue) == (
        0,
        0,
        None,
        None,
        [],
    )


def test_jobs_are_due_from_their_local_time() -> None:
    """08:00 in Santiago (11:00 UTC in November) starts the day's alerts and digest; Monday adds the weekly one."""
    config = Config()
    monday = datetime(2026, 11, 23, 10, 59, tzinfo=UTC)
    assert due_jobs(config, monday) == []
    names = [(j.name, j.period) for j in due_jobs(config, monday + timedelta(minutes=1))]
    assert names == [
        ("alerts", "2026-11-23"),
        ("digest_daily", "2026-11-23"),
        ("digest_weekly", "2026-W48"),
    ]
    tuesday = monday + timedelta(days=1, hours=1)
    assert [j.name for j in due_jobs(config, tuesday)] == ["alerts", "digest_daily"]
    quiet = Config(escalation=EscalationConfig(digest_daily="", digest_weekly=""))
    assert due_jobs(quiet, tuesday) == []


def test_no_job_for_a_period_that_ended_before_the_desk_existed() -> None:
    """A desk first started on Monday at 10:00 gets no digest for Sunday or last week, and no alerts until the next 08:00."""
    config = Config()
    created = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # Monday 10:00 in Santiago
    assert due_jobs(config, created, since=created) == []
    assert due_jobs(config, created + timedelta(hours=5), since=created) == []
    tuesday = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # 08:00 in Santiago
    jobs = due_jobs(config, tuesday, since=created)
    assert [(j.name, j.period) for j in jobs] == [
        ("alerts", "2026-11-24"),
        ("digest_daily", "2026-11-24"),
    ]
    daily = jobs[1]
    assert daily.start == created and daily.end.isoformat() == "2026-11-24T00:00:00-03:00"


def test_a_desk_started_before_the_hour_gets_its_alerts_and_its_part_of_the_week() -> None:
    """Started on Sunday, the desk's Monday brings the alerts and a weekly digest that starts when the desk did."""
    config = Config()
    created = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # Sunday noon in Santiago
    monday = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    jobs = {j.name: j for j in due_jobs(config, monday, since=created)}
    assert sorted(jobs) == ["alerts", "digest_daily", "digest_weekly"]
    assert jobs["digest_weekly"].start == created == jobs["digest_daily"].start
