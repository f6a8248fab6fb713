"""What one stored mail does: the single place where outcomes are decided.

In order: set aside (loops), record a bounce on its ticket, record an auto-reply,
a staff member's mail (proven: commands and an answer; unproven: an internal
flagged message), a vendor's reply (internal), a resident's reply (which may
resume, confirm, reopen or, long after closure, open a new linked ticket), and
otherwise a new ticket with its confirmation and the team's notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from maildesk import (
    correlate,
    notify,
    quotes,
    rules,
    signing,
    staffauth,
    staffmail,
    states,
    tickets,
)
from maildesk.commands import Verb, parse
from maildesk.config import StaffConfig
from maildesk.context import Desk
from maildesk.domain import Channel, MailKind, ParsedMail, State, ThreadDecision, Verdict
from maildesk.errors import IgnoreMail
from maildesk.models import Inbound, Message, Outbox, Participant, Ticket
from maildesk.parse import parse_mail
from maildesk.states import Action, ResidentEffect


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

    def role_of(self, ticket: Ticket, address: str) -> str | None:
        return self.session.scalar(
            select(Participant.role).where(
                Participant.ticket_id == ticket.id, Participant.email == address.lower()
            )
        )


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


def analyse(
    session: Session,
    desk: Desk,
    raw: bytes,
    *,
    envelope_from: str | None,
    envelope_to: str,
    lookup: DatabaseLookup | None = None,
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


def dispatch(session: Session, desk: Desk, row: Inbound) -> None:
    """Decide and write the outcome of one stored mail (inside its transaction)."""
    now = desk.clock.now()
    lookup = DatabaseLookup(session, desk.desk_id)
    analysis = analyse(
        session,
        desk,
        row.raw,
        envelope_from=row.envelope_from,
        envelope_to=row.envelope_to,
        lookup=lookup,
    )
    mail, verdict, decision = analysis.mail, analysis.verdict, analysis.decision
    row.verdict = verdict.kind.value
    row.reason = verdict.reason or decision.reason
    if not verdict.process:
        raise IgnoreMail(verdict.reason)
    if verdict.kind is MailKind.BOUNCE:
        number = _bounced_ticket(lookup, desk, analysis)
        found = lookup.ticket(number) if number is not None else None
        if found is None:
            raise IgnoreMail("a bounce for no mail of ours that we can find")
        tickets.add_inbound_message(
            session, desk, found, mail, kind="bounce", public=False, now=now, inbound_id=row.id
        )
        row.ticket_id = found.id
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
    proof = staffauth.check(
        mail, recipients=recipients_of(mail, row.envelope_to), config=desk.config
    )
    if proof.member is not None and not proof.proven:
        row.reason = proof.reason
    if ticket is not None:
        done = _on_ticket(session, desk, lookup, ticket, mail, proof, row=row, now=now)
        if done is not None:
            row.ticket_id = done.id
            return
        related: Ticket | None = ticket  # long after closure: a new ticket linking the old
    else:
        related = lookup.ticket(decision.related_number) if decision.related_number else None
    if proof.member is not None and proof.proven:
        opened = _staff_opens(session, desk, mail, proof.member, row=row, now=now)
        if opened is not None:
            row.ticket_id = opened.id
            return
    row.ticket_id = _new_ticket(session, desk, mail, verdict, related, row=row, now=now).id


def _on_ticket(
    session: Session,
    desk: Desk,
    lookup: DatabaseLookup,
    ticket: Ticket,
    mail: ParsedMail,
    proof: staffauth.StaffProof,
    *,
    row: Inbound,
    now: datetime,
) -> Ticket | None:
    """A mail that threads into `ticket`; None when it must open a new ticket instead."""
    if proof.member is not None and proof.proven:
        staffmail.handle(session, desk, ticket, mail, proof.member, now=now, inbound_id=row.id)
        return ticket
    text = quotes.reply_text(mail, keep_forwarded=True)
    if proof.member is not None:
        tickets.add_note(
            session,
            desk,
            ticket,
            actor=mail.from_addr,
            actor_name=mail.from_name,
            now=now,
            kind="unverified",
            text=f"{proof.reason}\n\n{text}",
            attachments=mail.attachments,
            inbound_id=row.id,
        )
        return ticket
    if lookup.role_of(ticket, mail.from_addr) == "vendor":
        tickets.add_note(
            session,
            desk,
            ticket,
            actor=mail.from_addr,
            actor_name=mail.from_name,
            now=now,
            kind="vendor",
            text=text,
            attachments=mail.attachments,
            inbound_id=row.id,
        )
        notify.notify_staff(
            session,
            desk,
            ticket,
            notice="vendor_reply",
            text=text,
            now=now,
            attachments=mail.attachments,
        )
        return ticket
    effect = states.resident_reply_effect(
        State(ticket.state),
        text=text,
        closed_at=ticket.closed_at,
        now=now,
        reopen_days=desk.config.desk.reopen_days,
    )
    if effect is ResidentEffect.NEW_TICKET:
        return None
    tickets.add_inbound_message(
        session,
        desk,
        ticket,
        mail,
        kind="normal",
        public=True,
        now=now,
        inbound_id=row.id,
        text=text,
    )
    actor = mail.from_addr
    notice = "resident_reply"
    if effect is ResidentEffect.RESUME:
        tickets.transition(session, ticket, Action.RESUME, actor=actor, now=now)
    elif effect is ResidentEffect.CONFIRM:
        tickets.transition(session, ticket, Action.CONFIRM, actor=actor, now=now, note=text)
        notify.tell_resident(session, desk, ticket, change="closed", now=now)
    elif effect is ResidentEffect.REOPEN:
        action = Action.REJECT if ticket.state == State.VALIDACION.value else Action.REOPEN
        tickets.transition(session, ticket, action, actor=actor, now=now, note=text)
        notice = "reopened"
    notify.notify_staff(
        session,
        desk,
        ticket,
        notice=notice,
        text=text,
        now=now,
        attachments=mail.attachments,
        actor=actor,
    )
    return ticket


def _staff_opens(
    session: Session,
    desk: Desk,
    mail: ParsedMail,
    member: StaffConfig,
    *,
    row: Inbound,
    now: datetime,
) -> Ticket | None:
    """`#abrir vecina@…`: a proven staff member opens a ticket on a resident's behalf."""
    parsed = parse(quotes.reply_text(mail), staffmail.vocabulary(desk.config))
    command = next((c for c in parsed.commands if c.verb is Verb.OPEN), None)
    if command is None:
        return None
    text = parsed.body.strip() or command.note
    ticket = tickets.open_for_resident(
        session,
        desk,
        requester=command.value,
        name="",
        subject=correlate.strip_reply_prefixes(mail.subject),
        text=text,
        channel=Channel.EMAIL,
        actor=member.email.lower(),
        now=now,
        attachments=mail.attachments,
    )
    notify.notify_staff(
        session,
        desk,
        ticket,
        notice="new",
        text=text,
        now=now,
        attachments=mail.attachments,
        actor=member.email,
    )
    return ticket


def _new_ticket(
    session: Session,
    desk: Desk,
    mail: ParsedMail,
    verdict: Verdict,
    related: Ticket | None,
    *,
    row: Inbound,
    now: datetime,
) -> Ticket:
    ticket = tickets.open_ticket(
        session,
        desk,
        subject=correlate.strip_reply_prefixes(mail.subject),
        requester_email=mail.from_addr,
        requester_name=mail.from_name,
        channel=Channel.EMAIL,
        now=now,
        text=mail.text,
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
    if verdict.may_autoreply and not row.backfill and mail.from_addr:
        tickets.send_confirmation(
            session,
            desk,
            ticket,
            text=mail.text,
            now=now,
            in_reply_to=mail.message_id,
            references=mail.references,
        )
    if not row.backfill:
        notify.notify_staff(
            session,
            desk,
            ticket,
            notice="new",
            text=mail.text,
            now=now,
            attachments=mail.attachments,
        )
    return ticket
