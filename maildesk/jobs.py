"""The scheduler's tick: the escalation pass, then the periodic jobs that are due.

A periodic job (the daily and weekly digests, the overdue alerts) runs once per
period: the run is claimed by inserting a row that a unique constraint keeps
single, in the same transaction as the mails it queues. A restart, a second
worker or the next tick finds the claim and does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from maildesk import digest, escalate
from maildesk.config import DAY_NAMES, Config
from maildesk.context import Desk
from maildesk.housekeeping import close_unanswered
from maildesk.models import ScheduledRun

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    name: str  # digest_daily | digest_weekly | alerts
    period: str  # the period's key: a date, or an ISO week
    start: datetime
    end: datetime


def due_jobs(config: Config, now: datetime) -> list[Job]:
    """The periodic jobs whose time has come in this period (pure)."""
    zone = ZoneInfo(config.desk.timezone)
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    rules = config.escalation
    jobs: list[Job] = []
    if rules.digest_daily and local.time() >= time.fromisoformat(rules.digest_daily):
        day = local.date().isoformat()
        jobs.append(Job("alerts", day, midnight, now))
        jobs.append(Job("digest_daily", day, midnight - timedelta(days=1), midnight))
    if rules.digest_weekly:
        weekday, at = rules.digest_weekly.split()
        if local.weekday() == DAY_NAMES[weekday.lower()] and local.time() >= time.fromisoformat(at):
            year, week, _ = local.isocalendar()
            jobs.append(
                Job("digest_weekly", f"{year}-W{week:02d}", midnight - timedelta(days=7), midnight)
            )
    return jobs


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
            kind = "daily" if job.name == "digest_daily" else "weekly"
            digest.send_digest(desk, session, kind=kind, start=job.start, end=job.end)
    log.info("ran %s for %s", job.name, job.period)
    return True


def tick(desk: Desk) -> escalate.PassReport:
    """What the daemon's scheduler runs every minute, and `maildesk escalate --once` runs once."""
    report = escalate.run_pass(desk)
    for job in due_jobs(desk.config, desk.clock.now()):
        run_job(desk, job)
    close_unanswered(desk)
    return report
