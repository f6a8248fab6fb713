"""Removing closed tickets' personal data after the retention period (`maildesk purge`).

What identifies or describes a resident goes: the requester's name and address, the
people in copy, every message's sender, recipients, subject and text, the attachments
(their files too, when no other ticket holds the same bytes), the raw mail and the
queued mail of the ticket, the free text and resident addresses in its history. What
the reports count stays: the ticket row with its number, times, state, priority,
category, team, unit, assignee, outcome and rating, its events and its vendors. A
purged ticket keeps `purged_at`; its page says so, and a late reply opens a new ticket.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from maildesk.context import Desk
from maildesk.domain import ParticipantRole, State
from maildesk.errors import Refused
from maildesk.models import (
    Attachment,
    Event,
    Inbound,
    InboundRaw,
    Message,
    Outbox,
    Participant,
    Ticket,
    WebRequest,
)
from maildesk.outbound.outbox import DEAD, PENDING

# Event detail keys that hold what people wrote, not what happened.
FREE_TEXT_KEYS = frozenset({"note", "comment", "reason", "text"})
_ADDRESS = re.compile(r"[^\s\"'<>,;:@]+@[^\s\"'<>,;:@]+")
PURGED = ""
RESIDENT_ROLES = (ParticipantRole.REQUESTER.value, ParticipantRole.CC.value)


@dataclass(frozen=True, slots=True)
class Purged:
    """What one ticket's purge removed."""

    number: int
    messages: int
    attachments: int  # different files (a notice's copy of a photo is the same file)
    files_deleted: int  # the others are still held by tickets that are kept


def earliest_allowed(now: datetime, retention_days: int) -> datetime:
    """The latest cut-off a purge may use: closed tickets keep their data this long."""
    return now - timedelta(days=retention_days)


def check_cutoff(before: datetime, now: datetime, retention_days: int) -> None:
    latest = earliest_allowed(now, retention_days)
    if before > latest:
        raise Refused(
            "purge_too_recent",
            f"--before must be on or before {latest.date().isoformat()}"
            f" (now minus desk.retention_days = {retention_days})",
        )


def _due(desk_id: int, before: datetime) -> list[Any]:
    return [
        Ticket.desk_id == desk_id,
        Ticket.state == State.CERRADO.value,
        Ticket.closed_at < before,
        Ticket.purged_at.is_(None),
    ]


def due(session: Session, desk_id: int, before: datetime) -> list[tuple[int, datetime]]:
    """Number and closing time of the closed tickets, closed before `before`, not purged
    yet; oldest first."""
    rows = session.execute(
        select(Ticket.number, Ticket.closed_at)
        .where(*_due(desk_id, before))
        .order_by(Ticket.closed_at, Ticket.id)
    )
    return [(number, closed) for number, closed in rows if closed is not None]


def scrub_detail(detail: str, addresses: set[str]) -> str:
    """An event's JSON detail without free text, and with `addresses` blanked."""
    if not detail:
        return detail
    try:
        data = json.loads(detail)
    except ValueError:
        return PURGED
    if not isinstance(data, dict):
        return PURGED
    kept = {
        key: PURGED if isinstance(value, str) and _mentions(value, addresses) else value
        for key, value in data.items()
        if key not in FREE_TEXT_KEYS
    }
    return json.dumps(kept, ensure_ascii=False, sort_keys=True) if kept else ""


def _mentions(text: str, addresses: set[str]) -> bool:
    return any(found.lower() in addresses for found in _ADDRESS.findall(text))


def resident_addresses(session: Session, ticket: Ticket) -> set[str]:
    """The requester and the people in copy: not staff, not vendors (the reports count those)."""
    people = set(
        session.scalars(
            select(Participant.email).where(
                Participant.ticket_id == ticket.id, Participant.role.in_(RESIDENT_ROLES)
            )
        )
    )
    return {a.lower() for a in (*people, ticket.requester_email) if a}


def _forget_messages(session: Session, ticket: Ticket) -> tuple[int, set[str]]:
    """Every message emptied, its attachments' rows gone; the count and the files' hashes."""
    message_ids = select(Message.id).where(Message.ticket_id == ticket.id)
    hashes = set(
        session.scalars(select(Attachment.sha256).where(Attachment.message_id.in_(message_ids)))
    )
    count = session.scalar(select(func.count()).where(Message.ticket_id == ticket.id)) or 0
    session.execute(delete(Attachment).where(Attachment.message_id.in_(message_ids)))
    session.execute(
        update(Message)
        .where(Message.ticket_id == ticket.id)
        .values(
            sender_email=PURGED, sender_name=PURGED, recipients=PURGED, subject=PURGED,
            text=PURGED, html=PURGED, in_reply_to=PURGED, references=PURGED, defects=PURGED,
        )
    )  # fmt: skip
    return int(count), hashes


def _forget_mail(session: Session, ticket: Ticket) -> None:
    """The raw mail received and the mail queued for the ticket; nothing left to send."""
    session.execute(
        update(InboundRaw)
        .where(InboundRaw.inbound_id.in_(select(Inbound.id).where(Inbound.ticket_id == ticket.id)))
        .values(raw=b"")
    )
    session.execute(
        update(Inbound)
        .where(Inbound.ticket_id == ticket.id)
        .values(raw=b"", envelope_from=None, envelope_to=PURGED, last_error=PURGED, reason=PURGED)
    )
    session.execute(
        update(Outbox)
        .where(Outbox.ticket_id == ticket.id, Outbox.status == PENDING)
        .values(status=DEAD, last_error="purged")
    )
    session.execute(
        update(Outbox)
        .where(Outbox.ticket_id == ticket.id)
        .values(raw=b"", draft=None, recipient=PURGED, envelope_from=PURGED, ref=PURGED)
    )


def _forget_people(session: Session, ticket: Ticket, addresses: set[str]) -> None:
    """The residents off the ticket, out of its history, and their words with them."""
    session.execute(
        delete(Participant).where(
            Participant.ticket_id == ticket.id, Participant.role.in_(RESIDENT_ROLES)
        )
    )
    for event in session.scalars(select(Event).where(Event.ticket_id == ticket.id)):
        if event.actor.lower() in addresses:
            event.actor = PURGED
        event.detail = scrub_detail(event.detail, addresses)
    ticket.requester_email = PURGED
    ticket.requester_name = PURGED
    ticket.subject = PURGED
    ticket.resolution = PURGED
    ticket.rating_comment = PURGED
    # The form's copy of the request goes too; the row stays for the suggestions' figure.
    session.execute(
        update(WebRequest)
        .where(WebRequest.ticket_id == ticket.id)
        .values(email=PURGED, name=PURGED, title=PURGED, text=PURGED, files="[]")
    )


def purge_ticket(session: Session, desk: Desk, number: int, *, now: datetime) -> Purged | None:
    """Purge one ticket in the caller's transaction; None when it is not due any more.

    Attachment files are deleted before the commit, once no row names their hash: on
    SQLite the transaction's write lock keeps a new mail from naming one meanwhile.
    """
    ticket = session.scalars(
        select(Ticket).where(Ticket.desk_id == desk.desk_id, Ticket.number == number)
    ).first()
    if ticket is None or ticket.purged_at is not None or ticket.state != State.CERRADO.value:
        return None
    addresses = resident_addresses(session, ticket)
    messages, hashes = _forget_messages(session, ticket)
    _forget_mail(session, ticket)
    _forget_people(session, ticket, addresses)
    ticket.purged_at = now
    session.flush()
    named = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(hashes))))
    deleted = sum(desk.blobs.delete(sha256) for sha256 in sorted(hashes - named))
    return Purged(number, messages, len(hashes), deleted)


def forget_unconfirmed(session: Session, desk: Desk, before: datetime) -> int:
    """Delete the web requests whose link expired unused before `before`, and their files.

    Such a request never became a ticket, so nothing of it is kept; a file is deleted
    only when no attachment or other request names the same bytes.
    """
    stale = list(
        session.scalars(
            select(WebRequest).where(
                WebRequest.desk_id == desk.desk_id,
                WebRequest.confirmed_at.is_(None),
                WebRequest.expires_at < before,
            )
        )
    )
    hashes = {item["sha256"] for row in stale for item in json.loads(row.files)}
    for row in stale:
        session.delete(row)
    session.flush()
    named = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(hashes))))
    for files in session.scalars(select(WebRequest.files).where(WebRequest.files != "[]")):
        named |= {item["sha256"] for item in json.loads(files)}
    for sha256 in sorted(hashes - named):
        desk.blobs.delete(sha256)
    return len(stale)


def count_attachments(session: Session, desk_id: int, before: datetime) -> int:
    """How many different files the due tickets hold (what `--dry-run` says would go)."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Attachment.sha256)))
            .join(Message, Message.id == Attachment.message_id)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(*_due(desk_id, before))
        )
        or 0
    )
