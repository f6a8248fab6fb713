"""What one stored mail does: an analysis, then the first outcome of `OUTCOMES` that takes it.

The analysis (parse, loop rules, threading, staff proof, the resident's proof) writes
nothing. The outcomes, in order: set aside (loops), a bounce kept on its ticket, an
auto-reply kept on its ticket, a proven staff member's reply (commands and an answer),
an unproven staff address's mail (kept internal, its sender told), a vendor's reply
(internal), a resident's reply (which may resume, confirm, reject, reopen or, long after
closure, pass on to a new linked ticket; only a proven one confirms, rejects or
reopens), a staff member's `#abrir` in a new mail, and otherwise a new ticket. Each
outcome only translates the mail into a ticket action (`maildesk.tickets`), which
decides what changes and who is told.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from maildesk import logs, signing
from maildesk.config import Config
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
from maildesk.inbound import correlate, quotes, residentauth, rules, staffauth, staffmail
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
    """The pure, slow part of a mail's analysis: the runner does it outside the write lock.

    Parsing is imported here: the daemon reads mail in its reader child, and keeps
    mail-parser and the HTML and TNEF readers out of its own memory."""
    from maildesk.inbound.parse import parse_mail

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
    """Rules and threading of a mail already read (`read_mail`, or the reader process
    and `with_requester`)."""
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
        is_staff=desk.is_install_staff,
        lookup=lookup or DatabaseLookup(session, desk.desk_id),
    )
    return Analysis(mail, verdict, decision)


def _bounced_ticket(desk: Desk, analysis: Analysis, recipients: list[str]) -> int | None:
    """The ticket whose mail bounced, only when the bounce proves the mail was ours.

    Anyone can write a "bounce" naming `[#2]` or a Message-ID a resident showed them;
    only our signed Message-ID (in the returned headers, or threaded to as some MTAs
    do), or our signed reply (VERP) address as a recipient, comes from a mail we sent.
    """
    mail = analysis.mail
    for mid in (*mail.bounced_message_ids, *mail.in_reply_to, *mail.references):
        number = signing.parse_message_id(mid, desk.secret)
        if number is not None:
            return number
    for address in recipients:
        number = signing.parse_reply_address(address.strip().strip("<>"), desk.address, desk.secret)
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
    resident_proof: residentauth.ResidentProof | None
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
    recipients = recipients_of(m.mail, m.row.envelope_to)
    number = _bounced_ticket(m.desk, m.analysis, recipients)
    found = m.lookup.ticket(number) if number is not None else None
    if found is None:
        raise IgnoreMail("a bounce that proves no mail of ours (no signed Message-ID or address)")
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


def _staff_elsewhere(m: Mail) -> Ticket | None:
    """Staff of another building on this one's ticket (and not one of its people)."""
    if m.ticket is None or m.proof.member is not None:
        return None
    found = m.desk.staff_elsewhere(m.mail.from_addr)
    if found is None or participant_role(m.session, m.ticket, m.mail.from_addr) is not None:
        return None
    member, theirs = found
    recorded.staff_of_another_building(
        m.session, m.desk, m.ticket, member, theirs.desk.name, m.mail, now=m.now
    )
    raise IgnoreMail(f"{member.email} is staff of {theirs.desk.slug}, not of this building")


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
        verified=m.resident_proof is not None and m.resident_proof.verified,
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
    ("staff of another building", _staff_elsewhere),
    ("vendor reply", _vendor),
    ("resident reply", _resident_reply),
    ("staff opens", _staff_opens),
    ("new ticket", _new_ticket),
)


PAGE_SOURCE = "web"
"""`Inbound.source` of a reply typed on the status page (`web.actions`)."""


def _staff_proof(
    mail: ParsedMail,
    row: Inbound,
    config: Config,
    recipients: Sequence[str],
    *,
    ticket_number: int | None,
    now: datetime,
) -> staffauth.StaffProof:
    """A page reply is the resident's by construction: whatever its headers say, it never
    proves (or even claims) staff; every other mail is checked by `staffauth`."""
    if row.source == PAGE_SOURCE:
        return staffauth.StaffProof(None, False, "a reply typed on the status page")
    return staffauth.check(
        mail, recipients=recipients, config=config, ticket_number=ticket_number, now=now
    )


def dispatch(session: Session, desk: Desk, row: Inbound, parsed: ParsedMail) -> None:
    """Decide and write the outcome of one stored mail (inside its transaction).

    `parsed` is `row.raw` as the reader process read it (`reader_process.py`).
    """
    lookup = DatabaseLookup(session, desk.desk_id)
    analysis = analyse(
        session,
        desk,
        with_requester(parsed, row.envelope_from),
        envelope_from=row.envelope_from,
        envelope_to=row.envelope_to,
        lookup=lookup,
    )
    decision = analysis.decision
    reason = analysis.verdict.reason or decision.reason
    now = desk.clock.now()
    recipients = recipients_of(analysis.mail, row.envelope_to)
    proof = _staff_proof(
        analysis.mail, row, desk.config, recipients, ticket_number=decision.ticket_number, now=now
    )
    if proof.member is not None and not proof.proven:
        reason = proof.reason
    ticket = lookup.ticket(decision.ticket_number) if decision.ticket_number is not None else None
    if ticket is not None:
        logs.note(ticket=ticket.number)
    related = lookup.ticket(decision.related_number) if decision.related_number else None
    resident_proof = None
    if ticket is not None:
        resident_proof = residentauth.check(
            analysis.mail, recipients=recipients, config=desk.config, ticket_number=ticket.number
        )
    mail = Mail(session, desk, row, lookup, analysis, proof, resident_proof, ticket, related, now)
    try:
        for _name, outcome in OUTCOMES:
            done = outcome(mail)
            if done is not None:
                row.ticket_id = done.id
                logs.note(ticket=done.number)
                return
    finally:
        # Written last, with the outcome: an UPDATE of the row of its own, early, would
        # be flushed with the ticket's first rows and cost a statement more a mail.
        row.verdict, row.reason = analysis.verdict.kind.value, reason
