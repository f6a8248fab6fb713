"""Every figure of a report, each defined once (docs/reports.md says what counts).

Counts, backlogs, recurrence, outcomes and ratings are SQL aggregations; times and
SLA compliance come from `durations` (the business calendar is Python). `build`
puts them all into one `Report`, for every format, the digest and the console.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, cast, func, literal, select
from sqlalchemy.orm import Session

from maildesk.config import Config
from maildesk.directory.lookup import unit_name
from maildesk.domain import EventKind, ParticipantRole, State
from maildesk.models import Event, Participant, Ticket, Unit, WebRequest
from maildesk.reports import sql
from maildesk.reports.durations import Measured, Timed, measured
from maildesk.reports.periods import Window
from maildesk.reports.tables import Kind, Report, Table, columns, hours, pct, percentile

SLOWEST = 10
LISTED_GROUPS = 50
OPEN_STATES = (State.RECIBIDO, State.EN_PROGRESO, State.EN_ESPERA, State.VALIDACION)
DONE_STATES = (State.VALIDACION.value, State.CERRADO.value)
AGE_LIMIT = timedelta(hours=24)
TIMES_BY = ("all", "category", "priority", "team", "responsible")
COMPLIANCE_BY = ("all", "priority", "team", "responsible", "vendor")
DIMENSIONS = tuple(dict.fromkeys((*TIMES_BY, *COMPLIANCE_BY)))
VOLUME_BY = {
    "category": Ticket.category,
    "priority": Ticket.priority,
    "channel": Ticket.channel,
    "type": Ticket.type,
    "team": Ticket.team,
}


def _within(column: Any, window: Window) -> Any:
    return and_(column >= window.start, column < window.end)


# --- volume ---------------------------------------------------------------------------


def volume_by_period(session: Session, desk_id: int, window: Window) -> Table:
    """Tickets opened, resolved (validación or closed) and closed in each bucket."""
    counts: dict[str, Counter[str]] = {
        "opened": Counter(),
        "resolved": Counter(),
        "closed": Counter(),
    }
    for name, column in (
        ("opened", Ticket.opened_at),
        ("resolved", Ticket.resolved_at),
        ("closed", Ticket.closed_at),
    ):
        bucket = sql.bucket(session, column, window.by, window.timezone)
        for key, n in session.execute(
            select(bucket.label("k"), func.count())
            .where(Ticket.desk_id == desk_id, _within(column, window))
            .group_by("k")
        ):
            counts[name][key] = n
    rows = [
        {"period": b.isoformat(), **{name: c[b.isoformat()] for name, c in counts.items()}}
        for b in window.buckets()
    ]
    cols = columns(
        ("period", Kind.DATE), ("opened", Kind.INT), ("resolved", Kind.INT), ("closed", Kind.INT)
    )
    return Table("volume_by_period", cols, rows)


def volume_by(session: Session, desk_id: int, window: Window) -> Table:
    """Tickets opened in the window by category, priority, channel (intake medium), request
    type and team."""
    rows: list[dict[str, Any]] = []
    for dimension, column in VOLUME_BY.items():
        found = session.execute(
            select(func.coalesce(column, "").label("k"), func.count())
            .where(Ticket.desk_id == desk_id, _within(Ticket.opened_at, window))
            .group_by("k")
        ).all()
        for key, n in sorted(found, key=lambda r: (-r[1], r[0])):
            rows.append({"dimension": dimension, "key": key, "opened": n})
    cols = columns(("dimension", Kind.TEXT), ("key", Kind.NAME), ("opened", Kind.INT))
    return Table("volume_by", cols, rows)


def closed_by_cause(session: Session, config: Config, desk_id: int, window: Window) -> Table:
    """Tickets closed in the window by final cause (Seiton's "clasificación final"); "" is
    closed without one. Every configured cause is listed, also with none closed."""
    found = dict(
        session.execute(
            select(func.coalesce(Ticket.cause, "").label("k"), func.count())
            .where(Ticket.desk_id == desk_id, _within(Ticket.closed_at, window))
            .group_by("k")
        ).all()
    )
    keys = [*config.causes, *sorted(k for k in found if k not in config.causes)]
    rows = [
        {"cause": k, "label": config.causes.get(k, ""), "closed": found.get(k, 0)} for k in keys
    ]
    cols = columns(("cause", Kind.NAME), ("label", Kind.TEXT), ("closed", Kind.INT))
    return Table("closed_by_cause", cols, rows)


# --- backlog ----------------------------------------------------------------------------


def backlog_by_period(session: Session, desk_id: int, window: Window) -> Table:
    """Open tickets per state at the end of each bucket, from the state events.

    A ticket enters recibido when opened; each state event moves one ticket from its
    `from` state to its `to` state. Counting back from the tickets' states now, undoing
    the moves of each later bucket (and of the time after the window), gives each
    state's count at each bucket's end while reading only the events since the
    window's start: a report of last week costs the same after ten years of history.
    """
    after = "9999-99-99"
    moves: dict[str, Counter[str]] = defaultdict(Counter)
    opened_bucket = sql.bucket(session, Ticket.opened_at, window.by, window.timezone)
    for when, key_expr in (
        (Ticket.opened_at >= window.end, literal(after)),
        (_within(Ticket.opened_at, window), opened_bucket),
    ):
        for key, n in session.execute(
            select(key_expr.label("k"), func.count())
            .where(Ticket.desk_id == desk_id, when)
            .group_by("k")
        ):
            moves[key][State.RECIBIDO.value] += n
    source, target = sql.state_field(session, "from"), sql.state_field(session, "to")
    event_bucket = sql.bucket(session, Event.at, window.by, window.timezone)
    for when, key_expr in (
        (Event.at >= window.end, literal(after)),
        (_within(Event.at, window), event_bucket),
    ):
        for key, before, after_state, n in session.execute(
            select(key_expr.label("k"), source.label("f"), target.label("t"), func.count())
            .join(Ticket, Event.ticket_id == Ticket.id)
            .where(Ticket.desk_id == desk_id, Event.kind == EventKind.STATE.value, when)
            .group_by("k", "f", "t")
        ):
            moves[key][before] -= n
            moves[key][after_state] += n
    level: Counter[str] = Counter(dict(_open_now(session, desk_id)))
    level.subtract(moves[after])
    ends = []
    for b in reversed(window.buckets()):
        ends.append((b, Counter(level)))
        level.subtract(moves[b.isoformat()])
    rows = []
    for b, at_end in reversed(ends):
        row: dict[str, Any] = {"period": b.isoformat()}
        row.update({s.value: at_end[s.value] for s in OPEN_STATES})
        row["open"] = sum(at_end[s.value] for s in OPEN_STATES)
        rows.append(row)
    cols = columns(
        ("period", Kind.DATE), *((s.value, Kind.INT) for s in OPEN_STATES), ("open", Kind.INT)
    )
    return Table("backlog_by_period", cols, rows)


def _open_now(session: Session, desk_id: int) -> list[tuple[str, int]]:
    """Tickets per open state now (the state index finds them; closed ones are not read)."""
    found = session.execute(
        select(Ticket.state, func.count())
        .where(Ticket.desk_id == desk_id, Ticket.state.in_([s.value for s in OPEN_STATES]))
        .group_by(Ticket.state)
    )
    return [(state, int(n)) for state, n in found]


def backlog_now(session: Session, desk_id: int, now: datetime) -> Table:
    """Tickets not closed, per state, now; and of them those opened more than 24 h ago."""
    old = func.sum(cast(Ticket.opened_at < now - AGE_LIMIT, Integer))
    found = {
        state: (n, int(o or 0))
        for state, n, o in session.execute(
            select(Ticket.state, func.count(), old)
            .where(Ticket.desk_id == desk_id, Ticket.state.in_([s.value for s in OPEN_STATES]))
            .group_by(Ticket.state)
        )
    }
    rows = [
        {
            "state": s.value,
            "tickets": found.get(s.value, (0, 0))[0],
            "older_24h": found.get(s.value, (0, 0))[1],
        }
        for s in OPEN_STATES
    ]
    cols = columns(("state", Kind.NAME), ("tickets", Kind.INT), ("older_24h", Kind.INT))
    return Table("backlog_now", cols, rows)


# --- recurrence --------------------------------------------------------------------------


def recurrence(session: Session, desk_id: int, window: Window, days: int) -> Table:
    """Tickets opened in the window less than `days` after another of the same unit, of
    the same unit and category, or calling the same vendor; grouped, with their numbers."""
    since = window.start - timedelta(days=days)
    rows: list[dict[str, Any]] = []
    base = and_(Ticket.desk_id == desk_id, Ticket.opened_at >= since, Ticket.opened_at < window.end)
    sources: dict[str, tuple[list[Any], Any, Any]] = {
        "unit": ([Ticket.unit], Ticket.unit.is_not(None), None),
        "unit_category": ([Ticket.unit, Ticket.category], Ticket.unit.is_not(None), None),
        "vendor": (
            [Participant.email],
            Participant.role == ParticipantRole.VENDOR.value,
            Participant,
        ),
    }
    for dimension, (keys, present, joined) in sources.items():
        order = (Ticket.opened_at, Ticket.id)
        previous = func.lag(Ticket.opened_at).over(partition_by=keys, order_by=order)
        previous_number = func.lag(Ticket.number).over(partition_by=keys, order_by=order)
        inner = select(
            *keys,
            Ticket.number,
            Ticket.opened_at,
            previous.label("prev_at"),
            previous_number.label("prev_number"),
        )
        if joined is not None:
            inner = inner.join(joined, Participant.ticket_id == Ticket.id)
        ranked = inner.where(base, present).subquery()
        gap = sql.seconds_between(session, ranked.c.prev_at, ranked.c.opened_at)
        key_cols = [ranked.c[k.key] for k in keys]
        groups: dict[str, set[int]] = defaultdict(set)
        for found in session.execute(
            select(*key_cols, ranked.c.number, ranked.c.prev_number).where(
                ranked.c.opened_at >= window.start,
                ranked.c.prev_at.is_not(None),
                gap <= days * 86400,
            )
        ):
            name = " · ".join(str(v) for v in found[: len(keys)])
            groups[name].update((found[-2], found[-1]))
        ordered = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
        for name, numbers in ordered[:LISTED_GROUPS]:
            rows.append(
                {
                    "dimension": dimension,
                    "key": name,
                    "tickets": len(numbers),
                    "numbers": " ".join(f"#{n}" for n in sorted(numbers)),
                }
            )
    cols = columns(
        ("dimension", Kind.TEXT), ("key", Kind.TEXT), ("tickets", Kind.INT), ("numbers", Kind.TEXT)
    )
    return Table("recurrence", cols, rows)


def recurrence_by_unit(session: Session, desk_id: int, window: Window, days: int) -> Table:
    """Per directory unit and per tower: tickets opened in the window, and of them those
    opened less than `days` after the previous ticket of the same unit (of the same tower)."""
    since = window.start - timedelta(days=days)
    names = {
        u.id: unit_name(u) for u in session.scalars(select(Unit).where(Unit.desk_id == desk_id))
    }
    rows: list[dict[str, Any]] = []
    for dimension, place in (("unit", Unit.id), ("tower", Unit.tower)):
        previous = func.lag(Ticket.opened_at).over(
            partition_by=place, order_by=(Ticket.opened_at, Ticket.id)
        )
        ranked = (
            select(place.label("place"), Ticket.opened_at, previous.label("prev_at"))
            .join(Unit, Unit.id == Ticket.unit_id)
            .where(
                Ticket.desk_id == desk_id,
                Ticket.opened_at >= since,
                Ticket.opened_at < window.end,
            )
            .subquery()
        )
        gap = sql.seconds_between(session, ranked.c.prev_at, ranked.c.opened_at)
        again = and_(ranked.c.prev_at.is_not(None), gap <= days * 86400)
        found = session.execute(
            select(ranked.c.place, func.count(), func.sum(cast(again, Integer)))
            .where(ranked.c.opened_at >= window.start)
            .group_by(ranked.c.place)
        )
        groups = [
            (names[key] if dimension == "unit" else str(key), int(n), int(r or 0))
            for key, n, r in found
            if dimension == "unit" or key
        ]
        groups.sort(key=lambda g: (-g[2], -g[1], g[0]))
        rows += [
            {"dimension": dimension, "key": key, "opened": n, "recurring": r}
            for key, n, r in groups[:LISTED_GROUPS]
        ]
    cols = columns(
        ("dimension", Kind.TEXT), ("key", Kind.NAME), ("opened", Kind.INT), ("recurring", Kind.INT)
    )
    return Table("recurrence_by_unit", cols, rows)


# --- outcomes and satisfaction ------------------------------------------------------------


def quality(session: Session, desk_id: int, window: Window) -> Table:
    """Resolutions, reopenings and their rate, closures with and without success, rating."""
    source, target = sql.state_field(session, "from"), sql.state_field(session, "to")

    def tickets_moved(condition: Any) -> int:
        return int(
            session.scalar(
                select(func.count(func.distinct(Event.ticket_id)))
                .join(Ticket, Event.ticket_id == Ticket.id)
                .where(
                    Ticket.desk_id == desk_id,
                    Event.kind == EventKind.STATE.value,
                    _within(Event.at, window),
                    condition,
                )
            )
            or 0
        )

    resolved = tickets_moved(and_(target.in_(DONE_STATES), source.not_in(DONE_STATES)))
    reopened = tickets_moved(and_(source.in_(DONE_STATES), target.not_in(DONE_STATES)))
    outcomes = dict(
        session.execute(
            select(Ticket.outcome, func.count())
            .where(Ticket.desk_id == desk_id, _within(Ticket.closed_at, window))
            .group_by(Ticket.outcome)
        ).all()
    )
    rated, mean = session.execute(
        select(func.count(Ticket.rating), func.avg(Ticket.rating)).where(
            Ticket.desk_id == desk_id, _within(Ticket.rated_at, window), Ticket.rating.is_not(None)
        )
    ).one()
    rows: list[dict[str, Any]] = [
        {"metric": "resolved", "value": resolved},
        {"metric": "reopened", "value": reopened},
        {"metric": "reopen_rate_pct", "value": pct(reopened, resolved)},
        {"metric": "closed_success", "value": int(outcomes.get("success", 0))},
        {"metric": "closed_failure", "value": int(outcomes.get("failure", 0))},
        {"metric": "rated", "value": int(rated)},
        {"metric": "rating_mean", "value": None if mean is None else round(float(mean), 2)},
    ]
    return Table("quality", columns(("metric", Kind.TEXT), ("value", Kind.NUMBER)), rows)


def kb_suggestions(session: Session, desk_id: int, window: Window) -> Table:
    """Requests whose confirmation carried knowledge-base suggestions (a `kb_suggested`
    event in the window), and requests typed on `/nueva` that were shown suggestions,
    with how many of those were still opened (the rest found their answer, or gave up)."""
    shown = session.scalar(
        select(func.count(func.distinct(Event.ticket_id)))
        .join(Ticket, Event.ticket_id == Ticket.id)
        .where(
            Ticket.desk_id == desk_id,
            Event.kind == EventKind.KB_SUGGESTED.value,
            _within(Event.at, window),
        )
    )
    on_web = select(func.count(WebRequest.id)).where(
        WebRequest.desk_id == desk_id,
        WebRequest.suggestions_shown > 0,
        _within(WebRequest.created_at, window),
    )
    web_shown = session.scalar(on_web) or 0
    web_opened = session.scalar(on_web.where(WebRequest.confirmed_at.is_not(None))) or 0
    rows: list[dict[str, Any]] = [
        {"metric": "confirmations_with_suggestions", "value": shown or 0},
        {"metric": "web_requests_with_suggestions", "value": web_shown},
        {"metric": "web_requests_opened_after_suggestions", "value": web_opened},
    ]
    return Table("kb_suggestions", columns(("metric", Kind.TEXT), ("value", Kind.NUMBER)), rows)


def ratings(session: Session, desk_id: int, window: Window) -> Table:
    """How many ratings of each value (1-5) were given in the window."""
    found = dict(
        session.execute(
            select(Ticket.rating, func.count())
            .where(
                Ticket.desk_id == desk_id,
                _within(Ticket.rated_at, window),
                Ticket.rating.is_not(None),
            )
            .group_by(Ticket.rating)
        ).all()
    )
    rows = [{"rating": r, "tickets": int(found.get(r, 0))} for r in range(1, 6)]
    return Table("ratings", columns(("rating", Kind.INT), ("tickets", Kind.INT)), rows)


def comments(session: Session, desk_id: int, window: Window) -> Table:
    """What residents wrote with their rating in the window, oldest first."""
    rows = [
        {"number": n, "rating": r, "comment": c, "rated_at": at.isoformat() if at else None}
        for n, r, c, at in session.execute(
            select(Ticket.number, Ticket.rating, Ticket.rating_comment, Ticket.rated_at)
            .where(
                Ticket.desk_id == desk_id,
                _within(Ticket.rated_at, window),
                Ticket.rating_comment != "",
            )
            .order_by(Ticket.rated_at, Ticket.id)
        )
    ]
    cols = columns(
        ("number", Kind.INT), ("rating", Kind.INT), ("comment", Kind.TEXT), ("rated_at", Kind.TIME)
    )
    return Table("comments", cols, rows)


# --- times, compliance, slowest -------------------------------------------------------------


def _keys(item: Measured, dimension: str) -> Iterable[str]:
    if dimension == "all":
        return ("",)
    if dimension == "vendor":
        return item.vendors
    return (str(getattr(item, dimension)),)


MEASURES: dict[str, Callable[[Measured], Timed | None]] = {
    "first_response": lambda m: m.first_response,
    "resolution": lambda m: m.resolution,
}


def times_and_compliance(items: Iterable[Measured]) -> tuple[Table, Table, Table]:
    """Mean, median and 90th percentile per group, % within target, and the slowest."""
    timed: dict[tuple[str, str, str], list[Timed]] = defaultdict(list)
    slow: list[tuple[float, int, Measured]] = []
    for item in items:
        for measure, get in MEASURES.items():
            event = get(item)
            if event is None:
                continue
            for dimension in DIMENSIONS:
                for key in _keys(item, dimension):
                    timed[(dimension, key, measure)].append(event)
        if item.resolution is not None:
            entry = (item.resolution.calendar, -item.number, item)
            if len(slow) < SLOWEST:
                heapq.heappush(slow, entry)
            else:
                heapq.heappushpop(slow, entry)
    order = {d: i for i, d in enumerate((*TIMES_BY, "vendor"))}
    keys = sorted(timed, key=lambda k: (order[k[0]], k[1], k[2]))
    times_rows = []
    compliance_rows = []
    for dimension, key, measure in keys:
        found = timed[(dimension, key, measure)]
        if dimension in TIMES_BY:
            row: dict[str, Any] = {
                "dimension": dimension,
                "key": key,
                "measure": measure,
                "n": len(found),
            }
            for clock in ("calendar", "business"):
                values = sorted(getattr(t, clock) for t in found)
                row[f"{clock}_mean_h"] = hours(sum(values) / len(values))
                row[f"{clock}_median_h"] = hours(percentile(values, 0.5))
                row[f"{clock}_p90_h"] = hours(percentile(values, 0.9))
            times_rows.append(row)
        if dimension in COMPLIANCE_BY:
            met = sum(t.met for t in found)
            compliance_rows.append(
                {
                    "dimension": dimension,
                    "key": key,
                    "target": measure,
                    "n": len(found),
                    "met": met,
                    "pct": pct(met, len(found)),
                }
            )
    hour_cols = [
        (f"{c}_{s}_h", Kind.HOURS)
        for c in ("calendar", "business")
        for s in ("mean", "median", "p90")
    ]
    times = Table(
        "times",
        columns(
            ("dimension", Kind.TEXT),
            ("key", Kind.NAME),
            ("measure", Kind.TEXT),
            ("n", Kind.INT),
            *hour_cols,
        ),
        times_rows,
    )
    compliance = Table(
        "compliance",
        columns(
            ("dimension", Kind.TEXT),
            ("key", Kind.NAME),
            ("target", Kind.TEXT),
            ("n", Kind.INT),
            ("met", Kind.INT),
            ("pct", Kind.PCT),
        ),
        compliance_rows,
    )
    slowest_rows = [
        {
            "number": m.number,
            "subject": m.subject,
            "priority": m.priority,
            "category": m.category,
            "team": m.team,
            "responsible": m.responsible,
            "calendar_h": hours(m.resolution.calendar if m.resolution else None),
            "business_h": hours(m.resolution.business if m.resolution else None),
        }
        for _, _, m in sorted(slow, reverse=True)
    ]
    slowest = Table(
        "slowest",
        columns(
            ("number", Kind.INT),
            ("subject", Kind.TEXT),
            ("priority", Kind.NAME),
            ("category", Kind.NAME),
            ("team", Kind.NAME),
            ("responsible", Kind.NAME),
            ("calendar_h", Kind.HOURS),
            ("business_h", Kind.HOURS),
        ),
        slowest_rows,
    )
    return times, compliance, slowest


BUILD_STEPS = 12


def build(
    session: Session,
    config: Config,
    desk_id: int,
    window: Window,
    *,
    now: datetime,
    recurrence_days: int | None = None,
    step: Callable[[], None] = lambda: None,
) -> Report:
    """Every figure of `window` for one desk: what every format, digest and page shows.

    `step` is called after each of the `BUILD_STEPS` queries (the command's progress bar).
    """
    sql.prepare(session)
    days = config.reports.recurrence_days if recurrence_days is None else recurrence_days

    def counted(table: Table) -> Table:
        step()
        return table

    times, compliance, slowest = times_and_compliance(measured(session, config, desk_id, window))
    step()
    tables = [
        counted(volume_by_period(session, desk_id, window)),
        counted(volume_by(session, desk_id, window)),
        times,
        compliance,
        counted(backlog_by_period(session, desk_id, window)),
        counted(backlog_now(session, desk_id, now)),
        counted(recurrence(session, desk_id, window, days)),
        counted(recurrence_by_unit(session, desk_id, window, days)),
        counted(quality(session, desk_id, window)),
        counted(closed_by_cause(session, config, desk_id, window)),
        counted(kb_suggestions(session, desk_id, window)),
        counted(ratings(session, desk_id, window)),
        counted(comments(session, desk_id, window)),
        slowest,
    ]
    return Report(
        desk=config.desk.name,
        window=window,
        generated_at=now,
        recurrence_days=days,
        tables={t.name: t for t in tables},
    )
