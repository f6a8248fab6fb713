"""The managers' digest and the overdue alerts: the mails that carry them.

The digest's figures are the reports' (`reports.report_for` over the digest's local
days): one definition of each number for `maildesk report`, the console and this
mail, counted in SQL. Its charts are the report's PNGs, inline in the HTML part.
Only the lists about open tickets now (the overdue, those waiting longest) are read
here, from bounded queries: a ticket can only be late once real time since its
opening exceeds the shortest target, and only the oldest few wait longest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from maildesk.config import Config, StaffConfig
from maildesk.context import Desk
from maildesk.domain import STATE_WORDS, Attachment, OutboxKind, State
from maildesk.models import Desk as DeskRow
from maildesk.models import Ticket
from maildesk.outbound.mailer import queue_mail
from maildesk.reports import By, Window
from maildesk.reports.figures import build
from maildesk.reports.summary import summary
from maildesk.reports.words import title
from maildesk.sla.clock import Status
from maildesk.sla.facts import sla_of
from maildesk.sla.policy import FIRST_RESPONSE, RESOLUTION

WORST = 5
LISTED = 50  # overdue tickets listed in one digest; the count says how many in all
DIGEST_ROLES = ("manager", "director")
OPEN = [s.value for s in State if s is not State.CERRADO]
CHART_TITLES = {
    "volume": "volume_by_period",
    "compliance": "compliance",
    "backlog": "backlog_by_period",
}


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """One open ticket as the digest and the alerts list it (times aware, UTC)."""

    number: int
    subject: str
    state: str
    opened_at: datetime
    overdue_seconds: float
    assignee: str | None
    team: str | None


def window_of(kind: str, start: datetime, end: datetime, zone: ZoneInfo) -> Window:
    """The report window of a digest of [start, end): its local days, by day (a month by week)."""
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    by = By.WEEK if kind == "monthly" else By.DAY
    return Window(start.astimezone(zone).date(), last, by, str(zone))


def _late(status: Status) -> float:
    """Seconds past a target that is broken and still unmet, else 0."""
    return -status.remaining if status.breached and status.met is None else 0.0


def ticket_facts(desk: Desk, tickets: Sequence[Ticket], now: datetime) -> list[TicketFacts]:
    out = []
    for ticket in tickets:
        found = sla_of(desk.config, ticket, now)
        out.append(
            TicketFacts(
                number=ticket.number,
                subject=ticket.subject,
                state=ticket.state,
                opened_at=ticket.opened_at,
                overdue_seconds=max(_late(found[FIRST_RESPONSE]), _late(found[RESOLUTION])),
                assignee=ticket.assignee,
                team=ticket.team,
            )
        )
    return out


def overdue(desk: Desk, session: Session, now: datetime) -> list[TicketFacts]:
    """Open tickets past a target, most overdue first.

    Only tickets open longer than the shortest target are read: the SLA clock never
    runs faster than real time, so a younger one cannot be late (a type's deadline counts
    as a target; a staff-set deadline is read whatever the age).
    """
    config = desk.config
    shortest = min(
        [
            *(
                min(p.first_response.seconds, p.resolution.seconds)
                for p in config.priorities.values()
            ),
            *(t.deadline.seconds for t in config.types.values() if t.deadline is not None),
        ]
    )
    candidates = session.scalars(
        select(Ticket)
        .where(
            Ticket.desk_id == desk.desk_id,
            Ticket.state.in_(OPEN),
            # A deadline staff set may fall sooner than any target.
            or_(
                Ticket.opened_at <= now - timedelta(seconds=shortest), Ticket.deadline.is_not(None)
            ),
        )
        .options(selectinload(Ticket.events))
    )
    late = [t for t in ticket_facts(desk, list(candidates), now) if t.overdue_seconds > 0]
    return sorted(late, key=lambda t: -t.overdue_seconds)


def waiting_longest(desk: Desk, session: Session, now: datetime) -> list[TicketFacts]:
    """The few open tickets opened longest ago."""
    oldest = session.scalars(
        select(Ticket)
        .where(Ticket.desk_id == desk.desk_id, Ticket.state.in_(OPEN))
        .order_by(Ticket.opened_at, Ticket.id)
        .limit(WORST)
        .options(selectinload(Ticket.events))
    )
    return ticket_facts(desk, list(oldest), now)


def _row(t: TicketFacts, desk: Desk, now: datetime) -> dict[str, object]:
    return {
        "number": t.number,
        "subject": t.subject,
        "state": STATE_WORDS[desk.language].get(t.state, t.state),
        "late_h": round(t.overdue_seconds / 3600, 1),
        "age_h": round((now - t.opened_at).total_seconds() / 3600, 1),
        "assignee": t.assignee or "",
        "team": t.team or "",
    }


def digest_people(config: Config) -> list[StaffConfig]:
    """Managers and directors, else the admins."""
    return [s for s in config.staff if s.role in DIGEST_ROLES] or [
        s for s in config.staff if s.role == "admin"
    ]


def _section(
    desk: Desk, session: Session, *, kind: str, start: datetime, end: datetime, now: datetime
) -> tuple[dict[str, Any], list[Attachment]]:
    """One building's part of a digest: its figures, lists and inline charts."""
    window = window_of(kind, start, end, ZoneInfo(desk.config.desk.timezone))
    report = build(session, desk.config, desk.desk_id, window, now=now)
    found = summary(report)
    late = overdue(desk, session, now)
    from maildesk.reports import charts  # matplotlib: loaded by the digest, not at start

    pictures = charts.render(report, desk.language)
    # A chart's Content-ID names its building: one mail may carry several buildings'.
    suffix = f"-{desk.slug}" if desk.neighbours else ""
    images = [
        Attachment(
            f"{name}{suffix}.png",
            "image/png",
            png,
            inline=True,
            content_id=f"{name}{suffix}@maildesk",
        )
        for name, png in pictures.items()
    ]
    context = {
        "building": desk.config.desk.name,
        "start": window.first.isoformat(),
        "end": window.last.isoformat(),
        "f": found,
        "backlog": list(found.backlog.items()),
        "overdue_count": len(late),
        "overdue": [_row(t, desk, now) for t in late[:LISTED]],
        "worst": [_row(t, desk, now) for t in waiting_longest(desk, session, now)],
        "charts": [
            {
                "cid": image.content_id,
                "filename": image.filename,
                "title": title(CHART_TITLES[name], desk.language),
            }
            for name, image in zip(pictures, images, strict=True)
        ],
    }
    return context, images


def _buildings_of(desk: Desk, session: Session, person: StaffConfig) -> list[Desk]:
    """The desks of the install whose digest `person` receives, this one included, by slug.

    The first of them sends the person one digest with a section per building; the
    others leave the person out of theirs.
    """
    theirs = [desk]
    for config in desk.neighbours:
        if any(p.email.lower() == person.email.lower() for p in digest_people(config)):
            row_id = session.scalar(select(DeskRow.id).where(DeskRow.slug == config.desk.slug))
            if row_id is not None:
                theirs.append(dataclasses.replace(desk, config=config, desk_id=row_id))
    return sorted(theirs, key=lambda d: d.slug)


def send_digest(desk: Desk, session: Session, *, kind: str, start: datetime, end: datetime) -> int:
    """Queue the digest of [start, end) for managers and directors; returns mails queued.

    A manager of several buildings of the install gets one mail, from the first of
    them, with a section per building.
    """
    now = desk.clock.now()
    # Each person with the buildings of theirs; the first of those sends the one digest.
    mine = [
        (person, buildings)
        for person in digest_people(desk.config)
        if (buildings := _buildings_of(desk, session, person))[0].desk_id == desk.desk_id
    ]
    if not mine:
        return 0
    own, images = _section(desk, session, kind=kind, start=start, end=end, now=now)
    computed = {desk.slug: (own, images)}
    for person, buildings in mine:
        if len(buildings) == 1:
            queue_mail(
                session,
                desk,
                kind=OutboxKind.DIGEST,
                to=person.email,
                to_name=person.name,
                now=now,
                context={"period": kind, **own},
                attachments=images,
            )
        else:
            for other in buildings:  # each building's section once, whoever reads it
                if other.slug not in computed:
                    computed[other.slug] = _section(
                        other, session, kind=kind, start=start, end=end, now=now
                    )
            parts = [computed[other.slug] for other in buildings]
            sections = [context for context, _images in parts]
            queue_mail(
                session,
                desk,
                kind=OutboxKind.DIGEST_BUILDINGS,
                to=person.email,
                to_name=person.name,
                now=now,
                context={
                    "period": kind,
                    "sections": sections,
                    "opened": sum(s["f"].opened for s in sections),
                    "closed": sum(s["f"].closed for s in sections),
                    "overdue_count": sum(s["overdue_count"] for s in sections),
                },
                attachments=[image for _context, pictures in parts for image in pictures],
            )
    return len(mine)


def send_alerts(desk: Desk, session: Session) -> int:
    """One mail per person with overdue tickets, most overdue first (seeds: alertas)."""
    now = desk.clock.now()
    lists: dict[str, tuple[StaffConfig, list[TicketFacts]]] = {}
    admins = [s for s in desk.config.staff if s.role == "admin"]
    for item in overdue(desk, session, now):
        owner = desk.config.staff_member(item.assignee) if item.assignee else None
        people = [owner] if owner else list(desk.config.team_members(item.team or ""))
        for person in [*people, *admins]:
            lists.setdefault(person.email.lower(), (person, []))[1].append(item)
    for person, items in lists.values():
        queue_mail(
            session,
            desk,
            kind=OutboxKind.ALERTS,
            to=person.email,
            to_name=person.name,
            now=now,
            context={"rows": [_row(t, desk, now) for t in items], "count": len(items)},
        )
    return len(lists)
