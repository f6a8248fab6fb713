"""Who must hear about a ticket's SLA, and why: the escalation policy (pure).

Given what is known of a ticket (its priority, history of states, first response
and resolution) and a moment, it answers which (target, level) escalations are
due. Defaults follow the seeds: a target at risk (75 % used) warns the assignee;
a broken target goes to the supervisor; open more than 24 h, or broken by a
further margin, to the manager; critical (an alta ticket past twice its target,
or an unhappy resident) to direction. Which of them already fired is the
caller's business (the database keeps that, so each fires once).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from maildesk.config import DAY_NAMES, CalendarConfig, Config, Duration
from maildesk.domain import State
from maildesk.sla.clock import (
    BusinessCalendar,
    CALENDAR_24x7,
    Span,
    Status,
    Target,
    expected_first_answer,
    measure,
    running_spans,
)

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"


class Level(enum.StrEnum):
    ASSIGNEE = "assignee"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    DIRECTOR = "director"


@dataclass(frozen=True, slots=True)
class Facts:
    """What the policy needs of one ticket, as plain values."""

    number: int
    priority: str
    opened_at: datetime
    history: Sequence[tuple[datetime, State]]  # (when, state entered), oldest first
    first_response_at: datetime | None
    resolved_at: datetime | None
    unhappy: bool = False
    kind: str | None = None  # the request type ([types]), whose deadline may replace the target
    deadline: date | None = None  # a deadline staff set: the resolution is due when it ends


@dataclass(frozen=True, slots=True)
class Due:
    target: str  # first_response | resolution | open | unhappy
    level: Level
    reason: str
    overdue_seconds: float
    used: float = 0.0  # share of the target used, 0 for open/unhappy


def calendar_for(config: Config, years: Sequence[int]) -> BusinessCalendar:
    """The desk's business calendar from `[calendar]`, with its country's holidays."""
    cal = config.calendar
    hours = [time.fromisoformat(cal.opens), time.fromisoformat(cal.closes)]
    days = frozenset(DAY_NAMES[d.lower()] for d in cal.days)
    extra = [date.fromisoformat(d) for d in cal.holidays]
    if cal.holidays_country:
        return BusinessCalendar.with_country_holidays(
            timezone=config.desk.timezone,
            days=days,
            opens=hours[0],
            closes=hours[1],
            country=cal.holidays_country,
            subdivision=cal.holidays_subdivision or None,
            years=years,
            extra=extra,
        )
    return BusinessCalendar(config.desk.timezone, days, hours[0], hours[1], frozenset(extra))


_calendars: dict[tuple[str, CalendarConfig, int], BusinessCalendar] = {}


def desk_calendar(config: Config, now: datetime) -> BusinessCalendar:
    """The desk's calendar, built once per configuration and year (holidays of three years)."""
    key = (config.desk.timezone, config.calendar, now.year)
    if key not in _calendars:
        _calendars[key] = calendar_for(config, [now.year - 1, now.year, now.year + 1])
    return _calendars[key]


def expected_answer(config: Config, priority: str, received_at: datetime) -> datetime:
    """When the resident can expect a first answer, given the desk's hours."""
    settings = config.priorities.get(priority) or next(iter(config.priorities.values()))
    return expected_first_answer(
        received_at, target_of(settings.first_response), desk_calendar(config, received_at)
    )


def target_of(duration: Duration) -> Target:
    return Target(duration.seconds, duration.business)


def resolution_target(config: Config, priority: str, kind: str | None) -> Duration:
    """The resolution target: the request type's deadline when it has one (PVI's date
    limit per type), else the priority's."""
    chosen = config.types.get(kind or "")
    if chosen is not None and chosen.deadline is not None:
        return chosen.deadline
    settings = config.priorities.get(priority) or next(iter(config.priorities.values()))
    return settings.resolution


def deadline_end(config: Config, day: date) -> datetime:
    """The moment a staff-set deadline passes: the end of that day in the desk's time zone."""
    zone = ZoneInfo(config.desk.timezone)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


@dataclass(frozen=True, slots=True)
class Clocked:
    """One target as the policy counts it: its size, the clock's spans, when it was met."""

    target: Target
    spans: Sequence[Span]
    done_at: datetime | None


def clocked(facts: Facts, config: Config) -> dict[str, Clocked]:
    """The first-response and resolution targets of one ticket with their clocks.

    The one place that decides the resolution's due date: a deadline staff set (a date,
    counted in real time without pauses), else the type's deadline, else the priority's.
    """
    settings = config.priorities.get(facts.priority) or next(iter(config.priorities.values()))
    spans = running_spans(facts.history, opened_at=facts.opened_at)
    if facts.deadline is not None:
        until = (deadline_end(config, facts.deadline) - facts.opened_at).total_seconds()
        resolution = Clocked(
            Target(max(int(until), 0), business=False),
            [Span(facts.opened_at, None)],
            facts.resolved_at,
        )
    else:
        resolution = Clocked(
            target_of(resolution_target(config, facts.priority, facts.kind)),
            spans,
            facts.resolved_at,
        )
    return {
        FIRST_RESPONSE: Clocked(target_of(settings.first_response), spans, facts.first_response_at),
        RESOLUTION: resolution,
    }


def statuses(
    facts: Facts, config: Config, calendar: BusinessCalendar, now: datetime
) -> dict[str, Status]:
    """First-response and resolution status of one ticket at `now`."""
    return {
        name: measure(c.target, c.spans, calendar=calendar, now=now, done_at=c.done_at)
        for name, c in clocked(facts, config).items()
    }


def _overdue(status: Status) -> float:
    return max(-status.remaining, 0.0)


def due(facts: Facts, found: dict[str, Status], config: Config, now: datetime) -> list[Due]:
    """Every escalation this ticket deserves now (the caller drops those already sent)."""
    rules = config.escalation
    out: list[Due] = []
    for target, status in found.items():
        if status.met is not None:
            continue  # the target's event happened: nothing to chase
        if status.used >= rules.at_risk:
            out.append(
                Due(
                    target,
                    Level.ASSIGNEE,
                    f"{status.used:.0%} of the {target} target used",
                    _overdue(status),
                    status.used,
                )
            )
        if status.breached:
            out.append(
                Due(
                    target,
                    Level.SUPERVISOR,
                    f"{target} target broken",
                    _overdue(status),
                    status.used,
                )
            )
            if status.used >= 1 + rules.manager_margin:
                out.append(
                    Due(
                        target,
                        Level.MANAGER,
                        f"{target} target broken by more than {rules.manager_margin:.0%}",
                        _overdue(status),
                        status.used,
                    )
                )
            if facts.priority == "alta" and status.used >= rules.director_factor:
                out.append(
                    Due(
                        target,
                        Level.DIRECTOR,
                        f"alta {target} target broken {rules.director_factor:g} times over",
                        _overdue(status),
                        status.used,
                    )
                )
    still_open = facts.resolved_at is None
    age = (now - facts.opened_at).total_seconds()
    if still_open and age > rules.manager_after.seconds:
        out.append(
            Due(
                "open",
                Level.MANAGER,
                f"open more than {rules.manager_after.seconds // 3600} h",
                age - rules.manager_after.seconds,
            )
        )
    if still_open and facts.unhappy:
        out.append(Due("unhappy", Level.DIRECTOR, "the resident is unhappy", 0.0))
    return out


def next_check(
    facts: Facts, config: Config, calendar: BusinessCalendar, now: datetime
) -> datetime | None:
    """The first moment after `now` at which `due` could name an escalation it does not
    name now; None when none can come (every target met, the ticket resolved).

    Each unmet target escalates at fixed shares of itself (at risk, broken, the manager's
    margin, the director's factor for alta), reached while its clock runs, and an
    unresolved ticket once more at `manager_after` of age. A moment a little early only
    costs the pass one look; a late one delays an escalation, so none is more than a
    second late.
    """
    rules = config.escalation
    moments: list[datetime] = []
    shares = [rules.at_risk, 1.0, 1 + rules.manager_margin]
    if facts.priority == "alta":
        shares.append(rules.director_factor)
    found = statuses(facts, config, calendar, now)
    for name, c in clocked(facts, config).items():
        if c.done_at is not None or not c.spans or c.spans[-1].end is not None:
            continue  # met, or its clock is paused: the state change sets a new check
        clock = calendar if c.target.business else CALENDAR_24x7
        for share in shares:
            left = share * c.target.seconds - found[name].elapsed
            if left >= 0:  # not crossed yet ("broken" is strictly over the target)
                moments.append(clock.add_business(now, max(left, 1.0)))
    age_limit = facts.opened_at + timedelta(seconds=rules.manager_after.seconds)
    if facts.resolved_at is None and age_limit >= now:
        moments.append(max(age_limit, now + timedelta(seconds=1)))
    return min(moments, default=None)


def rules_fingerprint(config: Config) -> str:
    """A digest of everything `next_check` depends on in the configuration: when it
    changes, checks set by the old rules may come too late."""
    rules = (
        config.desk.timezone,
        config.calendar,
        config.escalation,
        sorted(config.priorities.items()),
        sorted(config.types.items()),
    )
    return hashlib.sha256(repr(rules).encode()).hexdigest()


_DAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def office_hours(config: Config, language: str) -> str:
    """ "lunes a viernes, de 09:00 a 18:00": the desk's hours in the desk's words."""
    days = sorted({DAY_NAMES[d.lower()] for d in config.calendar.days})
    names = _DAYS[language]
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        span = f"{names[days[0]]} {'a' if language == 'es' else 'to'} {names[days[-1]]}"
    else:
        span = ", ".join(names[d] for d in days)
    cal = config.calendar
    if language == "es":
        return f"{span}, de {cal.opens} a {cal.closes}"
    return f"{span}, {cal.opens}–{cal.closes}"
