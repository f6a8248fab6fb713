"""The desk's state as Prometheus metrics, read from the database at each scrape.

Several workers may run (`maildesk run --only PART`), each with its own memory; what
they share is the database. So everything that describes the desk (tickets open by
state, overdue, stored mail by status, the outbox, escalations and SLA breaches, the
IMAP watcher's last good pass and reconnections) is counted there when Prometheus
asks, by a few grouped, indexed queries, and any web worker answers the same. Only
what belongs to one process (its page latencies) lives in that process's memory
(`web/metrics.py`).

The counters (`*_total`) count rows that are never removed (an escalation, a breach,
a reconnection), so they only grow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from maildesk.clock import Clock
from maildesk.db import Database
from maildesk.domain import State
from maildesk.models import Desk, Escalation, Inbound, MailboxPosition, Outbox, Ticket
from maildesk.outbound.outbox import DEAD, PENDING
from maildesk.sla.policy import FIRST_RESPONSE, RESOLUTION, Level

log = logging.getLogger(__name__)

PREFIX = "maildesk_"
OPEN_STATES = tuple(s.value for s in State if s is not State.CERRADO)


def _seconds(now: datetime, then: datetime | None) -> float:
    """Age in seconds; `min()` over an aware column may come back naive (SQLite)."""
    if then is None:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - then).total_seconds())


def _namer(slugs: dict[int, str]) -> Callable[[int], str]:
    """A desk's label: its slug (its id for a row that appeared since the slugs were read)."""
    return lambda desk_id: slugs.get(desk_id, str(desk_id))


class DeskCollector:
    """A prometheus_client collector over the install's database.

    `mailboxes` maps each configured mailbox key (`imap.mailbox_key`) to its desk's slug
    and folder: the stored key holds a login and a host, which no label should.
    """

    def __init__(
        self, db: Database, clock: Clock, mailboxes: Mapping[str, tuple[str, str]]
    ) -> None:
        self.db, self.clock, self.mailboxes = db, clock, mailboxes

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(PREFIX + "database_up", "1 when the database answered this scrape")
        try:
            with self.db.read_only() as session:
                metrics = list(self._read(session, self.clock.now()))
        except SQLAlchemyError:
            log.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self, session: Session, now: datetime) -> Iterator[Metric]:
        slugs: dict[int, str] = dict(session.execute(select(Desk.id, Desk.slug)).all())
        slug = _namer(slugs)

        open_ = GaugeMetricFamily(
            PREFIX + "tickets_open", "Tickets not closed, by state", labels=["desk", "state"]
        )
        for desk_id, desk_slug in slugs.items():
            # One desk at a time: (desk_id, state) is the index's prefix, so only the open
            # tickets' entries are read, not the closed ones of every year.
            for state, count in session.execute(
                select(Ticket.state, func.count())
                .where(Ticket.desk_id == desk_id, Ticket.state.in_(OPEN_STATES))
                .group_by(Ticket.state)
            ):
                open_.add_metric([desk_slug, state], count)
        yield open_

        overdue = GaugeMetricFamily(
            PREFIX + "tickets_overdue",
            "Tickets past an SLA target now (the board's overdue filter)",
            labels=["desk"],
        )
        for desk_id, count in session.execute(
            select(Ticket.desk_id, func.count()).where(Ticket.due_at < now).group_by(Ticket.desk_id)
        ):
            overdue.add_metric([slug(desk_id)], count)
        yield overdue

        mails = GaugeMetricFamily(
            PREFIX + "mails",
            "Stored mails by status: processed (imported), quarantined, ignored (refused"
            " by the loop and robot rules), pending",
            labels=["desk", "status"],
        )
        for desk_id, status, count in session.execute(
            select(Inbound.desk_id, Inbound.status, func.count()).group_by(
                Inbound.desk_id, Inbound.status
            )
        ):
            mails.add_metric([slug(desk_id), status], count)
        yield mails

        yield from self._outbox(session, now, slugs)
        yield from self._escalations(session, slugs)
        yield from self._mailboxes(session, now)

    def _outbox(self, session: Session, now: datetime, slugs: dict[int, str]) -> Iterator[Metric]:
        slug = _namer(slugs)
        depth = GaugeMetricFamily(
            PREFIX + "outbox_pending", "Mails waiting to be sent", labels=["desk"]
        )
        oldest = GaugeMetricFamily(
            PREFIX + "outbox_oldest_pending_age_seconds",
            "Age of the oldest mail waiting to be sent (0 when none waits)",
            labels=["desk"],
        )
        dead = GaugeMetricFamily(
            PREFIX + "outbox_dead",
            "Mails given up (outbox retry sends them again)",
            labels=["desk"],
        )
        seen: set[str] = set()
        for desk_id, status, count, first in session.execute(
            select(Outbox.desk_id, Outbox.status, func.count(), func.min(Outbox.created_at))
            .where(Outbox.status.in_((PENDING, DEAD)))
            .group_by(Outbox.desk_id, Outbox.status)
        ):
            if status == PENDING:
                depth.add_metric([slug(desk_id)], count)
                oldest.add_metric([slug(desk_id)], _seconds(now, first))
                seen.add(slug(desk_id))
            else:
                dead.add_metric([slug(desk_id)], count)
        for desk_slug in sorted(set(map(slug, slugs)) - seen):
            depth.add_metric([desk_slug], 0)
            oldest.add_metric([desk_slug], 0)
        yield from (depth, oldest, dead)

    def _escalations(self, session: Session, slugs: dict[int, str]) -> Iterator[Metric]:
        slug = _namer(slugs)
        sent = CounterMetricFamily(
            PREFIX + "escalations",
            "Escalations fired (each once per ticket, target and level), by level",
            labels=["desk", "level"],
        )
        breaches = CounterMetricFamily(
            PREFIX + "sla_breaches",
            "SLA targets broken (first_response, resolution), once per ticket and target",
            labels=["desk", "target"],
        )
        counted = select(Escalation.level, Escalation.target, func.count())
        if len(slugs) == 1:
            # One building (most installs): every escalation is its own, and the unique
            # index alone answers, without a look at each escalation's ticket.
            (only,) = slugs
            query = counted.add_columns(literal(only)).group_by(Escalation.level, Escalation.target)
        else:
            query = (
                counted.add_columns(Ticket.desk_id)
                .join(Ticket, Ticket.id == Escalation.ticket_id)
                .group_by(Ticket.desk_id, Escalation.level, Escalation.target)
            )
        for level, target, count, desk_id in session.execute(query):
            sent.add_metric([slug(desk_id), level], count)
            if level == Level.SUPERVISOR.value and target in (FIRST_RESPONSE, RESOLUTION):
                breaches.add_metric([slug(desk_id), target], count)
        yield from (sent, breaches)

    def _mailboxes(self, session: Session, now: datetime) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            PREFIX + "imap_last_pass_age_seconds",
            "Seconds since the IMAP watcher last completed a pass over its folder",
            labels=["desk", "folder"],
        )
        reconnects = CounterMetricFamily(
            PREFIX + "imap_reconnects",
            "Connections the IMAP watchers made again after losing one",
            labels=["desk", "folder"],
        )
        for key, checked_at, count in session.execute(
            select(MailboxPosition.mailbox, MailboxPosition.checked_at, MailboxPosition.reconnects)
        ):
            found = self.mailboxes.get(key)
            if found is None:  # a mailbox no desk watches any more
                continue
            age.add_metric(list(found), _seconds(now, checked_at))
            reconnects.add_metric(list(found), count)
        yield from (age, reconnects)
