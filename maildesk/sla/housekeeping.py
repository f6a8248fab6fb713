"""Scheduled passes that keep tickets honest without anyone asking.

A ticket waiting for the resident's confirmation (validación) closes by itself
after `desk.auto_close_days` without an answer, and the resident is told; the
bodies of mail sent more than `limits.keep_sent_days` ago are pruned.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from maildesk.context import Desk
from maildesk.domain import State
from maildesk.models import Ticket
from maildesk.outbound import outbox
from maildesk.tickets.system import auto_close

log = logging.getLogger(__name__)


def close_unanswered(desk: Desk) -> int:
    """Close validated tickets nobody answered; each in its own transaction."""
    now = desk.clock.now()
    limit = now - timedelta(days=desk.config.desk.auto_close_days)
    with desk.db.read_only() as session:
        due = list(
            session.scalars(
                select(Ticket.id).where(
                    Ticket.desk_id == desk.desk_id,
                    Ticket.state == State.VALIDACION.value,
                    Ticket.resolved_at <= limit,
                )
            )
        )
    closed = 0
    for ticket_id in due:
        with desk.db.transaction() as session:
            ticket = session.get(Ticket, ticket_id, with_for_update=desk.db.is_postgres)
            if ticket is None or ticket.state != State.VALIDACION.value:
                continue  # answered or closed by someone else meanwhile
            auto_close(session, desk, ticket, now=now)
            closed += 1
    if closed:
        log.info("closed %d ticket(s) left unanswered in validation", closed)
    return closed


def prune_sent_mail(desk: Desk) -> int:
    """Keep the outbox from filling the disk: sent bodies go, their rows stay."""
    pruned = outbox.prune_sent(desk.db, desk.clock.now(), desk.config.limits.keep_sent_days)
    if pruned:
        log.info("pruned the bodies of %d sent mail(s)", pruned)
    return pruned
