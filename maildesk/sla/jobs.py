"""The scheduler's tick: the escalation pass, then the periodic jobs that are due.

A periodic job (the daily, weekly and monthly digests, the overdue alerts) runs once per
period: the run is claimed by inserting a row that a unique constraint keeps
single, in the same transaction as the mails it queues. A restart, a second
worker or the next tick finds the claim and does nothing.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from maildesk.config import DAY_NAMES, Config
from maildesk.context import Desk
from maildesk.models import Desk as DeskRow
from maildesk.models import ScheduledRun
from maildesk.sla import digest, escalate
from maildesk.sla.housekeeping import close_unanswered, prune_sent_mail

log = logging.getLogger(__name__)

# The advisory locks (with the desk's id) that keep a scheduled pass on one worker at a time.
LOCK_TICK = 7273
LOCK_RETRY = 7274


@dataclass(frozen=True, slots=True)
class Job:
    name: str  # digest_daily | digest_weekly | digest_monthly | alerts
    period: str  # the period's key: a date, an ISO week, or a month
    start: datetime
    end: datetime


def due_jobs(config: Config, now: datetime, *, since: datetime | None = None) -> list[Job]:
    """The periodic jobs whose time has come in this period (pure).

    `since` is when the desk was created: a digest of a period that ended before
    it would report on a time the desk did not exist (its first start would mail
    yesterday's and last week's), so such periods are skipped and a period the
    desk joined midway starts at `since`. The overdue alerts of a day whose hour
    passed before the desk existed are skipped too.
    """
    zone = ZoneInfo(config.desk.timezone)
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    born = since.astimezone(zone) if since is not None else None
    rules = config.escalation
    jobs: list[Job] = []

    def digest(name: str, period: str, start: datetime) -> None:
        if born is None:
            jobs.append(Job(name, period, start, midnight))
        elif midnight > born:
            jobs.append(Job(name, period, max(start, born), midnight))

    if rules.digest_daily and local.time() >= (at := time.fromisoformat(rules.digest_daily)):
        day = local.date().isoformat()
        if born is None or datetime.combine(local.date(), at, tzinfo=zone) >= born:
            jobs.append(Job("alerts", day, midnight, now))
        digest("digest_daily", day, midnight - timedelta(days=1))
    if rules.digest_weekly:
        weekday, at_text = rules.digest_weekly.split()
        if local.weekday() == DAY_NAMES[weekday.lower()] and local.time() >= time.fromisoformat(
            at_text
        ):
            year, week, _ = local.isocalendar()
            digest("digest_weekly", f"{year}-W{week:02d}", midnight - timedelta(days=7))
    if rules.digest_monthly:
        day_text, at_text = rules.digest_monthly.split()
        today = local.date()
        if today.day == _day_in(today, int(day_text)) and local.time() >= time.fromisoformat(
            at_text
        ):
            before = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
            since_day = before.replace(day=_day_in(before, int(day_text)))
            digest("digest_monthly", f"{today:%Y-%m}", datetime.combine(since_day, time(0), zone))
    return jobs


def _day_in(month: date, day: int) -> int:
    """`day` of `month`, or the month's last day when it has fewer ("31" in November: 30)."""
    return min(day, calendar.monthrange(month.year, month.month)[1])


KINDS = {"digest_daily": "daily", "digest_weekly": "weekly", "digest_monthly": "monthly"}


def run_job(desk: Desk, job: Job) -> bool:
    """Claim and run one job for its period; False when it already ran."""
    with desk.db.transaction() as session:
        try:
            with session.begin_nested():
                session.add(
                    ScheduledRun(
                        desk_id=desk.desk_id,
                        job=job.name,
                        period=job.period,
                        ran_at=desk.clock.now(),
                    )
                )
        except IntegrityError:
            return False
        if job.name == "alerts":
            digest.send_alerts(desk, session)
        else:
            digest.send_digest(desk, session, kind=KINDS[job.name], start=job.start, end=job.end)
    log.info("ran %s for %s", job.name, job.period)
    return True


def tick(desk: Desk) -> escalate.PassReport:
    """What the daemon's scheduler runs every minute, and `maildesk escalate --once` runs once.

    On one worker at a time: a second scheduler skips the whole tick while one runs it.
    Each step is also safe on its own (the escalation pass's lock and records, the
    jobs' claims, the auto-close's row lock); the tick's lock spares the others the work.
    """
    with desk.db.one_worker(LOCK_TICK, desk.desk_id) as mine:
        if not mine:
            log.debug("another worker runs this tick")
            return escalate.PassReport(skipped=True)
        return _tick(desk)


def _tick(desk: Desk) -> escalate.PassReport:
    report = escalate.run_pass(desk)
    with desk.db.read_only() as session:
        row = session.get(DeskRow, desk.desk_id)
        assert row is not None
        created = row.created_at
    for job in due_jobs(desk.config, desk.clock.now(), since=created):
        run_job(desk, job)
    close_unanswered(desk)
    prune_sent_mail(desk)
    return report
