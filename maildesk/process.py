"""Turn stored raw mails into tickets: one mail, one transaction, all or nothing.

The pipeline for one mail is parse -> rules -> thread -> open or append ->
confirm -> mark processed. Outcomes are decided in one place (`_handle`); errors
are mapped in one place (`process_one`): a temporary error leaves the mail
pending, anything else counts an attempt, and the third failure quarantines the
mail with its reason so the queue moves on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from maildesk import correlate, ingest, rules, signing, tickets
from maildesk.context import Desk
from maildesk.domain import Channel, MailKind, ParsedMail, ThreadDecision, Verdict
from maildesk.errors import IgnoreMail, TemporaryError
from maildesk.models import Inbound, Message, Outbox, Participant, Ticket
from maildesk.parse import parse_mail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class DatabaseLookup:
    """`correlate.TicketLookup` over this desk's tickets."""

    def __init__(self, session: Session, desk_id: int) -> None:
        self.session = session
        self.desk_id = desk_id

    def number_for_message_id(self, message_id: str) -> int | None:
        found = self.session.scalar(
            select(Ticket.number)
            .join(Message, Message.ticket_id == Ticket.id)
            .where(Ticket.desk_id == self.desk_id, Message.mid == message_id)
            .order_by(Message.id.desc())
            .limit(1)
        )
        if found is None:
            found = self.session.scalar(
                select(Ticket.number)
                .join(Outbox, Outbox.ticket_id == Ticket.id)
                .where(Ticket.desk_id == self.desk_id, Outbox.mid == message_id)
                .limit(1)
            )
        return found

    def ticket(self, number: int) -> Ticket | None:
        return self.session.scalars(
            select(Ticket).where(Ticket.desk_id == self.desk_id, Ticket.number == number)
        ).first()

    def exists(self, number: int) -> bool:
        return self.ticket(number) is not None

    def is_on_ticket(self, number: int, address: str) -> bool:
        address = address.lower()
        found = self.session.scalar(
            select(Ticket.id)
            .outerjoin(Participant, Participant.ticket_id == Ticket.id)
            .where(
                Ticket.desk_id == self.desk_id,
                Ticket.number == number,
                or_(Ticket.requester_email == address, Participant.email == address),
            )
            .limit(1)
        )
        return found is not None


def _recipients(mail: ParsedMail, envelope_to: str) -> list[str]:
    found = [a for a in envelope_to.split(",") if a]
    found += [*mail.to, *mail.cc]
    for name in ("delivered-to", "x-original-to", "envelope-to"):
        found += [v.strip().strip("<>") for v in mail.headers.get(name, ())]
    return found


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the pipeline decided about one mail, before anything is written."""

    mail: ParsedMail
    verdict: Verdict
    decision: ThreadDecision


def analyse(
    session: Session, desk: Desk, raw: bytes, *, envelope_from: str | None, envelope_to: str
) -> Analysis:
    mail = parse_mail(raw)
    verdict = rules.classify(
        mail,
        rules.RuleContext(
            desk_address=desk.address, secret=desk.secret, envelope_sender=envelope_from
        ),
    )
    decision = correlate.decide(
        mail,
        recipients=_recipients(mail, envelope_to),
        desk_address=desk.address,
        secret=desk.secret,
        tag_prefix=desk.config.desk.tag_prefix,
        is_staff=desk.is_staff,
        lookup=DatabaseLookup(session, desk.desk_id),
    )
    return Analysis(mail, verdict, decision)


def _bounced_ticket(lookup: DatabaseLookup, desk: Desk, analysis: Analysis) -> int | None:
    """The ticket whose mail bounced: by signed address, then the original Message-ID."""
    number = analysis.decision.ticket_number or analysis.decision.related_number
    if number is not None:
        return number
    for mid in analysis.mail.bounced_message_ids:
        number = signing.parse_message_id(mid, desk.secret) or lookup.number_for_message_id(mid)
        if number is not None:
            return number
    return None


def _handle(session: Session, desk: Desk, row: Inbound) -> None:
    """Decide and write the outcome of one stored mail (inside its transaction)."""
    now = desk.clock.now()
    analysis = analyse(
        session, desk, row.raw, envelope_from=row.envelope_from, envelope_to=row.envelope_to
    )
    mail, verdict, decision = analysis.mail, analysis.verdict, analysis.decision
    lookup = DatabaseLookup(session, desk.desk_id)
    row.verdict = verdict.kind.value
    row.reason = verdict.reason or decision.reason
    if not verdict.process:
        raise IgnoreMail(verdict.reason)
    if verdict.kind is MailKind.BOUNCE:
        number = _bounced_ticket(lookup, desk, analysis)
        ticket = lookup.ticket(number) if number is not None else None
        if ticket is None:
            raise IgnoreMail("a bounce for no mail of ours that we can find")
        tickets.add_inbound_message(
            session, desk, ticket, mail, kind="bounce", public=False, now=now, inbound_id=row.id
        )
        row.ticket_id = ticket.id
        return
    ticket = lookup.ticket(decision.ticket_number) if decision.ticket_number is not None else None
    if verdict.kind is MailKind.AUTO_REPLY:
        if ticket is None:
            raise IgnoreMail(f"{verdict.reason}; it names no ticket of its sender")
        tickets.add_inbound_message(
            session, desk, ticket, mail, kind="auto_reply", public=False, now=now, inbound_id=row.id
        )
        row.ticket_id = ticket.id
        return
    is_new = ticket is None
    if ticket is None:
        related = (
            lookup.ticket(decision.related_number) if decision.related_number is not None else None
        )
        ticket = tickets.open_ticket(
            session,
            desk,
            subject=correlate.strip_reply_prefixes(mail.subject),
            requester_email=mail.from_addr,
            requester_name=mail.from_name,
            channel=Channel.EMAIL,
            now=now,
            related=related.id if related is not None else None,
            foreign_tags=correlate.foreign_tags(mail.subject, desk.config.desk.tag_prefix),
        )
        for address in mail.cc + mail.to:
            if address != mail.from_addr and not signing.is_desk_address(address, desk.address):
                tickets.add_participant(session, ticket, address, role="cc")
    tickets.add_inbound_message(
        session,
        desk,
        ticket,
        mail,
        kind=verdict.kind.value,
        public=True,
        now=now,
        inbound_id=row.id,
    )
    if is_new and verdict.may_autoreply and not row.backfill and mail.from_addr:
        tickets.send_confirmation(
            session,
            desk,
            ticket,
            text=mail.text,
            now=now,
            in_reply_to=mail.message_id,
            references=mail.references,
        )
    row.ticket_id = ticket.id


def _lock_pending(session: Session, desk: Desk, inbound_id: int) -> Inbound | None:
    query = select(Inbound).where(Inbound.id == inbound_id, Inbound.status == ingest.PENDING)
    if desk.db.is_postgres:
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def process_one(desk: Desk, inbound_id: int) -> str:
    """Process one stored mail; returns its status afterwards."""
    try:
        with desk.db.transaction() as session:
            row = _lock_pending(session, desk, inbound_id)
            if row is None:
                status = session.scalar(select(Inbound.status).where(Inbound.id == inbound_id))
                return status or "missing"
            try:
                _handle(session, desk, row)
                row.status = ingest.PROCESSED
            except IgnoreMail as exc:
                row.status, row.reason = ingest.IGNORED, str(exc)
                log.info("mail %s set aside: %s", inbound_id, exc)
            row.processed_at = desk.clock.now()
            return row.status
    except TemporaryError:
        raise
    except Exception as exc:  # noqa: BLE001 - every other failure counts an attempt
        return _count_failure(desk, inbound_id, exc)


def _count_failure(desk: Desk, inbound_id: int, exc: Exception) -> str:
    detail = "".join(traceback.format_exception_only(exc)).strip()
    log.error("mail %s failed: %s", inbound_id, detail, exc_info=exc)
    with desk.db.transaction() as session:
        row = session.get(Inbound, inbound_id)
        assert row is not None
        row.attempts += 1
        row.last_error = detail
        if row.attempts >= MAX_ATTEMPTS:
            row.status = ingest.QUARANTINED
            row.reason = f"failed {row.attempts} times: {detail}"
            log.error("mail %s quarantined after %d attempts", inbound_id, row.attempts)
        return row.status


@dataclass
class ProcessReport:
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def pending_ids(desk: Desk, limit: int | None = None) -> Sequence[int]:
    with desk.db.transaction() as session:
        query = (
            select(Inbound.id)
            .where(Inbound.desk_id == desk.desk_id, Inbound.status == ingest.PENDING)
            .order_by(Inbound.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(session.scalars(query))


def process_pending(desk: Desk, *, limit: int | None = None) -> ProcessReport:
    """Work through pending mails oldest first; a failing mail never blocks the rest."""
    report = ProcessReport()
    for inbound_id in pending_ids(desk, limit):
        report.add(process_one(desk, inbound_id))
    return report


def requeue(desk: Desk, inbound_id: int) -> bool:
    """Give a quarantined (or ignored) mail a fresh start; the admin's one command."""
    with desk.db.transaction() as session:
        row = session.get(Inbound, inbound_id)
        if row is None or row.desk_id != desk.desk_id or row.status == ingest.PENDING:
            return False
        if row.status == ingest.PROCESSED:
            return False
        row.status, row.attempts, row.last_error = ingest.PENDING, 0, ""
        return True


def explain(
    desk: Desk, raw: bytes, *, envelope_from: str | None = None, envelope_to: str = ""
) -> dict[str, Any]:
    """What would happen to this mail, and why; writes nothing (`ingest --dry-run`)."""
    with desk.db.read_only() as session:
        analysis = analyse(session, desk, raw, envelope_from=envelope_from, envelope_to=envelope_to)
    mail, verdict, decision = analysis.mail, analysis.verdict, analysis.decision
    if not verdict.process:
        action = "set aside"
    elif decision.ticket_number is not None:
        action = f"append to ticket {decision.ticket_number}"
    elif verdict.kind in (MailKind.AUTO_REPLY, MailKind.BOUNCE):
        action = "record on the ticket it names, or set aside"
    else:
        action = "open a new ticket" + (
            " and send a confirmation" if verdict.may_autoreply else " (no automatic answer)"
        )
    return {
        "from": mail.from_addr,
        "subject": mail.subject,
        "message_id": mail.message_id,
        "kind": verdict.kind.value,
        "rule": verdict.reason,
        "signal": decision.signal,
        "ticket": decision.ticket_number,
        "related": decision.related_number,
        "why": decision.reason,
        "action": action,
        "attachments": [a.filename for a in mail.attachments],
        "defects": list(mail.defects),
    }
