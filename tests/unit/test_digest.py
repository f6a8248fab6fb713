"""The digest's headline read from a report, its window, and when periodic jobs are due."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from maildesk.config import Config, EscalationConfig
from maildesk.reports import By, Report, Window
from maildesk.reports.summary import Summary, summary
from maildesk.reports.tables import Table
from maildesk.sla.digest import window_of
from maildesk.sla.jobs import due_jobs

DAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def table(name: str, *rows: dict[str, Any]) -> Table:
    return Table(name, (), list(rows))


def times(measure: str, median: float | None) -> dict[str, Any]:
    return {"dimension": "all", "key": "", "measure": measure, "calendar_median_h": median}


def met(target: str, pct: float | None, dimension: str = "all") -> dict[str, Any]:
    return {"dimension": dimension, "key": "", "target": target, "pct": pct}


def report(*tables: Table) -> Report:
    window = Window(date(2026, 11, 16), date(2026, 11, 22), By.DAY, "America/Santiago")
    return Report("Alameda", window, DAY, 30, {t.name: t for t in tables})


def test_the_digest_headline_is_the_reports_figures() -> None:
    """Opened and closed are the report's buckets summed; medians and % within SLA are its `all` rows; backlog is now."""
    found = summary(
        report(
            table(
                "volume_by_period",
                {"period": "2026-11-16", "opened": 3, "resolved": 2, "closed": 1},
                {"period": "2026-11-17", "opened": 1, "resolved": 0, "closed": 2},
            ),
            table(
                "times",
                times("first_response", 1.5),
                {**times("first_response", 9.0), "dimension": "priority", "key": "alta"},
                times("resolution", 17.25),
            ),
            table(
                "compliance",
                met("first_response", 66.7),
                met("resolution", 50.0),
                met("resolution", 0.0, "priority"),
            ),
            table(
                "backlog_now",
                {"state": "recibido", "tickets": 2, "older_24h": 1},
                {"state": "en_espera", "tickets": 0, "older_24h": 0},
            ),
        )
    )
    assert found == Summary(
        opened=4,
        resolved=2,
        closed=3,
        backlog={"recibido": 2},
        first_response_median_h=1.5,
        resolution_median_h=17.25,
        first_response_sla_pct=66.7,
        resolution_sla_pct=50.0,
    )


def test_a_quiet_period_has_no_medians() -> None:
    """A period without answers or resolutions gives zeros and no made-up medians or percentages."""
    found = summary(
        report(
            table(
                "volume_by_period",
                {"period": "2026-11-16", "opened": 0, "resolved": 0, "closed": 0},
            ),
            table("times"),
            table("compliance"),
            table("backlog_now"),
        )
    )
    assert (
        found.opened,
        found.closed,
        found.first_response_median_h,
        found.resolution_sla_pct,
    ) == (
        0,
        0,
        None,
        None,
    )


def test_the_digest_window_is_its_local_days() -> None:
    """A daily digest covers its local day by day; a monthly one its month by week; a desk born midday starts that day."""
    zone = ZoneInfo("America/Santiago")
    day = window_of(
        "daily", datetime(2026, 11, 22, tzinfo=zone), datetime(2026, 11, 23, tzinfo=zone), zone
    )
    assert (day.first, day.last, day.by) == (date(2026, 11, 22), date(2026, 11, 22), By.DAY)
    month = window_of(
        "monthly", datetime(2026, 11, 1, tzinfo=zone), datetime(2026, 12, 1, tzinfo=zone), zone
    )
    assert (month.first, month.last, month.by) == (date(2026, 11, 1), date(2026, 11, 30), By.WEEK)
    born = window_of(
        "weekly",
        datetime(2026, 11, 18, 13, 0, tzinfo=UTC),
        datetime(2026, 11, 23, tzinfo=zone),
        zone,
    )
    assert (born.first, born.last) == (date(2026, 11, 18), date(2026, 11, 22))


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


def test_the_monthly_digest_is_due_on_its_day_for_the_month_before() -> None:
    """On the 1st at 08:00 in Santiago the monthly digest covers the previous local month, once per month key."""
    config = Config(escalation=EscalationConfig(digest_daily="", digest_weekly=""))
    first = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 08:00 in Santiago
    assert due_jobs(config, first - timedelta(minutes=1)) == []
    (job,) = due_jobs(config, first)
    assert (job.name, job.period) == ("digest_monthly", "2026-12")
    assert job.start.isoformat() == "2026-11-01T00:00:00-03:00"
    assert job.end.isoformat() == "2026-12-01T00:00:00-03:00"
    assert due_jobs(config, first + timedelta(days=1)) == []
    later = Config(
        escalation=EscalationConfig(digest_daily="", digest_weekly="", digest_monthly="15 18:30")
    )
    assert due_jobs(later, first) == []
    (mid,) = due_jobs(later, datetime(2026, 12, 15, 21, 30, tzinfo=UTC))
    assert mid.period == "2026-12" and mid.start.isoformat() == "2026-11-15T00:00:00-03:00"
    off = Config(escalation=EscalationConfig(digest_daily="", digest_weekly="", digest_monthly=""))
    assert due_jobs(off, first) == []


def test_a_day_past_the_months_end_means_its_last_day() -> None:
    """`31 08:00` runs on 30 November, the month's last day."""
    config = Config(
        escalation=EscalationConfig(digest_daily="", digest_weekly="", digest_monthly="31 08:00")
    )
    (job,) = due_jobs(config, datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    assert job.period == "2026-11"
    assert job.start.isoformat() == "2026-10-31T00:00:00-03:00"


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (datetime(2026, 12, 1, 10, 0, tzinfo=UTC), None),  # born after the month ended
        (datetime(2026, 11, 20, 15, 0, tzinfo=UTC), datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
        (datetime(2026, 10, 2, 15, 0, tzinfo=UTC), datetime(2026, 11, 1, 3, 0, tzinfo=UTC)),
    ],
)
def test_the_monthly_digest_covers_only_what_the_desk_ran_for(
    created: datetime, expected: datetime | None
) -> None:
    """No monthly digest of a month that ended before the desk existed; a month the desk joined starts with it."""
    config = Config(escalation=EscalationConfig(digest_daily="", digest_weekly=""))
    jobs = due_jobs(config, datetime(2026, 12, 1, 11, 0, tzinfo=UTC), since=created)
    assert [j.start for j in jobs] == ([] if expected is None else [expected])
