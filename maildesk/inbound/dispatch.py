"""What one stored mail does: an analysis, then the first outcome of `OUTCOMES` that takes it.

The analysis (parse, loop rules, threading, staff proof) writes nothing. The outcomes,
in order: set aside (loops), a bounce kept on its ticket, an auto-reply kept on its
ticket, a proven staff member's reply (commands and an answer), an unproven staff
address's mail (kept internal, its sender told), a vendor's reply (internal), a
resident's reply (which may resume, confirm, reject, reopen or, long after closure,
pass on to a new linked ticket), a staff member's `#abrir` in a new mail, and otherwise
a new ticket. Each outcome only translates the mail into a ticket action
(`maildesk.tickets`), which decides what changes and who is told.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from maildesk import signing
from maildesk.context import Desk
from maildesk.domain import (
    MailKind,
    MessageKind,
    ParsedMail,
    ParticipantRole,
    ThreadDecision,
    Verdict,
    Via,
)
from maildesk.errors import IgnoreMail
from maildesk.inbound import correlate, quotes, rules, staffauth, staffmail
from maildesk.inbound.parse import parse_mail
from maildesk.models import Inbound, Message, Outbox, Participant, Ticket
from maildesk.tickets import opening, recorded, resident
from maildesk.tickets.actor import Actor
from maildesk.tickets.history import participant_role


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


def recipients_of(mail: ParsedMail, envelope_to: str) -> list[str]:
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


def with_requester(mail: ParsedMail, envelope_from: str | None) -> ParsedMail:
    """A mail with no usable `From:` is the envelope sender's (SMTP/LMTP `MAIL FROM`,
    `ingest --sender`, else `Return-Path`): a request always has someone to answer."""
    if opening.is_address(mail.from_addr):
        return mail
    for candidate in (envelope_from or "", mail.header("return-path")):
        address = candidate.strip().strip("<>").strip().lower()
        if opening.is_address(address):
            return dataclasses.replace(mail, from_addr=address)
    return mail


def read_mail(raw: bytes, envelope_from: str | None) -> ParsedMail:
    """The pure, slow part of a mail's analysis: the runner does it outside the write lock."""
    return with_requester(parse_mail(raw), envelope_from)


def analyse(
    session: Session,
    desk: Desk,
    mail: ParsedMail,
    *,
    envelope_from: str | None,
    envelope_to: str,
    lookup: DatabaseLookup | None = None,
) -> Analysis:
    """`mail` comes from `read_mail`."""
    verdict = rules.classify(
        mail,
        rules.RuleContext(
            desk_address=desk.address, secret=desk.secret, envelope_sender=envelope_from
        ),
    )
    decision = correlate.decide(
        mail,
        recipients=recipients_of(mail, envelope_to),
        desk_address=desk.address,
        secret=desk.secret,
        tag_prefix=desk.config.desk.tag_prefix,
        is_staff=desk.is_staff,
        lookup=lookup or DatabaseLookup(session, desk.desk_id),
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


@dataclass
class Mail:
    """One stored mail on its way through `OUTCOMES`: what was found, nothing written."""

    session: Session
    desk: Desk
    row: Inbound
    lookup: DatabaseLookup
    analysis: Analysis
    proof: staffauth.StaffProof
    ticket: Ticket | None
    related: Ticket | None
    now: datetime

    @property
    def mail(self) -> ParsedMail:
        return self.analysis.mail

    @property
    def proven_staff(self) -> bool:
        return self.proof.member is not None and self.proof.proven

    @property
    def unproven_staff(self) -> bool:
        return self.proof.member is not None and not self.proof.proven

    def reply_text(self) -> str:
        return quotes.reply_text(self.mail, keep_forwarded=True)


Outcome = Callable[[Mail], Ticket | None]


def _set_aside(m: Mail) -> Ticket | None:
    if m.analysis.verdict.process:
        return None
    raise IgnoreMail(m.analysis.verdict.reason)


def _bounce(m: Mail) -> Ticket | None:
    if m.analysis.verdict.kind is not MailKind.BOUNCE:
        return None
    number = _bounced_ticket(m.lookup, m.desk, m.analysis)
    found = m.lookup.ticket(number) if number is not None else None
    if found is None:
        raise IgnoreMail("a bounce for no mail of ours that we can find")
    recorded.kept(
        m.session, m.desk, found, m.mail, kind=MessageKind.BOUNCE, now=m.now, inbound_id=m.row.id
    )
    return found


def _auto_reply(m: Mail) -> Ticket | None:
    if m.analysis.verdict.kind is not MailKind.AUTO_REPLY:
        return None
    if m.ticket is None:
        raise IgnoreMail(f"{m.analysis.verdict.reason}; it names no ticket of its sender")
    recorded.kept(
        m.session,
        m.desk,
        m.ticket,
        m.mail,
        kind=MessageKind.AUTO_REPLY,
        now=m.now,
        inbound_id=m.row.id,
    )
    return m.ticket


def _staff_reply(m: Mail) -> Ticket | None:
    if m.ticket is None or not m.proven_staff or m.proof.member is None:
        return None
    staffmail.handle(
        m.session, m.desk, m.ticket, m.mail, m.proof.member, now=m.now, inbound_id=m.row.id
    )
    return m.ticket


def _unproven_staff(m: Mail) -> Ticket | None:
    if not m.unproven_staff or m.proof.member is None:
        return None
    recorded.unproven_staff(
        m.session,
        m.desk,
        m.proof.member,
        m.mail,
        reason=m.proof.reason,
        text=m.reply_text(),
        now=m.now,
        inbound_id=m.row.id,
        ticket=m.ticket,
    )
    if m.ticket is None:
        raise IgnoreMail(f"staff mail that could not be proven: {m.proof.reason}")
    return m.ticket


def _vendor(m: Mail) -> Ticket | None:
    if m.ticket is None:
        return None
    if participant_role(m.session, m.ticket, m.mail.from_addr) is not ParticipantRole.VENDOR:
        return None
    recorded.vendor_replied(
        m.session,
        m.desk,
        m.ticket,
        m.mail,
        text=m.reply_text(),
        now=m.now,
        inbound_id=m.row.id,
    )
    return m.ticket


def _resident_reply(m: Mail) -> Ticket | None:
    if m.ticket is None:
        return None
    actor = Actor.resident(m.mail.from_addr, Via.MAIL, m.mail.from_name)
    entered = resident.replied(
        m.session,
        m.desk,
        m.ticket,
        actor,
        m.mail,
        text=m.reply_text(),
        now=m.now,
        inbound_id=m.row.id,
    )
    if entered:
        return m.ticket
    m.related = m.ticket  # long after closure: a new ticket linking the old
    return None


def _staff_opens(m: Mail) -> Ticket | None:
    if not m.proven_staff or m.proof.member is None:
        return None
    return staffmail.open_from_mail(m.session, m.desk, m.mail, m.proof.member, now=m.now)


def _new_ticket(m: Mail) -> Ticket | None:
    verdict = m.analysis.verdict
    return opening.open_by_mail(
        m.session,
        m.desk,
        m.mail,
        kind=MessageKind(verdict.kind.value),
        may_autoreply=verdict.may_autoreply,
        now=m.now,
        inbound_id=m.row.id,
        related=m.related,
        imported=m.row.backfill,
    )


# The first outcome that returns a ticket decides; order matters (see the docstring).
OUTCOMES: tuple[tuple[str, Outcome], ...] = (
    ("set aside", _set_aside),
    ("bounce", _bounce),
    ("auto-reply", _auto_reply),
    ("staff reply", _staff_reply),
    ("unproven staff", _unproven_staff),
    ("vendor reply", _vendor),
    ("resident reply", _resident_reply),
    ("staff opens", _staff_opens),
    ("new ticket", _new_ticket),
)


def dispatch(session: Session, desk: Desk, row: Inbound, read: ParsedMail) -> None:
    """Decide and write the outcome of one stored mail (inside its transaction); `read` is
    `read_mail` of its raw bytes."""
    lookup = DatabaseLookup(session, desk.desk_id)
    analysis = analyse(
        session,
        desk,
        read,
        envelope_from=row.envelope_from,
        envelope_to=row.envelope_to,
        lookup=lookup,
    )
    decision = analysis.decision
    row.verdict = analysis.verdict.kind.value
    row.reason = analysis.verdict.reason or decision.reason
    proof = staffauth.check(
        analysis.mail, recipients=recipients_of(analysis.mail, row.envelope_to), config=desk.config
    )
    if proof.member is not None and not proof.proven:
        row.reason = proof.reason
    ticket = lookup.ticket(decision.ticket_number) if decision.ticket_number is not None else None
    related = lookup.ticket(decision.related_number) if decision.related_number else None
    mail = Mail(session, desk, row, lookup, analysis, proof, ticket, related, desk.clock.now())
    for _name, outcome in OUTCOMES:
        done = outcome(mail)
        if done is not None:
            row.ticket_id = done.id
            return
