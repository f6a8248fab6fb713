"""The only code that changes tickets. Helpers take a session and never commit.

Every change is an event in the ticket's history; mail caused by a change is
enqueued in the same transaction (through `mailer`), never sent inline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maildesk import notify, signing, states
from maildesk.classify import classify
from maildesk.context import Desk
from maildesk.domain import Attachment as MailAttachment
from maildesk.domain import Channel, ParsedMail, State
from maildesk.escalation import expected_answer, office_hours
from maildesk.localtime import local_datetime
from maildesk.mailer import store_attachments
from maildesk.models import Desk as DeskRow
from maildesk.models import Event, Message, Participant, Ticket
from maildesk.states import Action

SUMMARY_CHARS = 600


def next_number(session: Session, desk_id: int) -> int:
    """Take the desk's next ticket number; the row update serialises concurrent workers."""
    number = session.execute(
        update(DeskRow)
        .where(DeskRow.id == desk_id)
        .values(next_number=DeskRow.next_number + 1)
        .returning(DeskRow.next_number)
    ).scalar_one()
    return int(number) - 1


def record_event(
    session: Session,
    ticket: Ticket,
    *,
    actor: str,
    kind: str,
    now: datetime,
    detail: Mapping[str, Any] | None = None,
) -> Event:
    event = Event(
        ticket_id=ticket.id,
        at=now,
        actor=actor,
        kind=kind,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
    )
    session.add(event)
    ticket.updated_at = now
    return event


def add_participant(
    session: Session, ticket: Ticket, email: str, *, role: str, name: str = ""
) -> None:
    email = email.strip().lower()
    if not email:
        return
    exists = session.scalar(
        select(Participant.id).where(Participant.ticket_id == ticket.id, Participant.email == email)
    )
    if exists is None:
        session.add(Participant(ticket_id=ticket.id, email=email, name=name, role=role))
        session.flush()


def open_ticket(
    session: Session,
    desk: Desk,
    *,
    subject: str,
    requester_email: str,
    requester_name: str,
    channel: Channel,
    now: datetime,
    text: str = "",
    actor: str | None = None,
    related: int | None = None,
    foreign_tags: Sequence[str] = (),
) -> Ticket:
    """A new ticket, classified and routed by the desk's rules (staff can change both)."""
    guess = classify(desk.config, subject=subject, text=text, sender=requester_email)
    number = next_number(session, desk.desk_id)
    ticket = Ticket(
        desk_id=desk.desk_id,
        number=number,
        subject=subject.strip() or "(sin asunto)",
        state=State.RECIBIDO.value,
        priority=guess.priority,
        category=guess.category,
        team=guess.team,
        unit=guess.unit,
        channel=channel.value,
        requester_email=requester_email.lower(),
        requester_name=requester_name,
        status_token=signing.new_token(),
        opened_at=now,
        updated_at=now,
        related_ticket_id=related,
        foreign_tags="\n".join(foreign_tags),
    )
    session.add(ticket)
    session.flush()
    add_participant(session, ticket, requester_email, role="requester", name=requester_name)
    record_event(
        session,
        ticket,
        actor=actor or requester_email.lower(),
        kind="created",
        now=now,
        detail={
            "channel": channel.value,
            "category": guess.category,
            "priority": guess.priority,
            "team": guess.team,
            "unit": guess.unit,
        },
    )
    if related is not None:
        record_event(
            session, ticket, actor="system", kind="related", now=now, detail={"ticket_id": related}
        )
    return ticket


def add_inbound_message(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    *,
    kind: str,
    public: bool,
    now: datetime,
    inbound_id: int | None,
    text: str | None = None,
) -> Message:
    """Record a mail we received on its ticket, with its attachments.

    `text` replaces the mail's own text, e.g. a reply without its quoted history.
    """
    message = Message(
        ticket_id=ticket.id,
        direction="inbound",
        kind=kind,
        public=public,
        sender_email=mail.from_addr,
        sender_name=mail.from_name,
        recipients=", ".join((*mail.to, *mail.cc)),
        mid=mail.message_id,
        in_reply_to=" ".join(mail.in_reply_to),
        references=" ".join(mail.references),
        subject=mail.subject,
        text=mail.text if text is None else text,
        html=mail.html,
        defects="\n".join(mail.defects),
        created_at=now,
        inbound_id=inbound_id,
    )
    session.add(message)
    session.flush()
    store_attachments(session, desk, message, mail.attachments)
    record_event(
        session,
        ticket,
        actor=mail.from_addr or "unknown",
        kind="message" if public else kind,
        now=now,
        detail={"message": message.id, "attachments": len(mail.attachments)},
    )
    return message


def summary(text: str) -> str:
    text = text.strip()
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"


def send_confirmation(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    text: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
) -> None:
    """The resident's receipt: number, summary and the private status link."""
    notify.mail_resident(
        session,
        desk,
        ticket,
        kind="confirmation",
        now=now,
        automatic=True,
        in_reply_to=in_reply_to,
        references=references,
        context={
            "number": ticket.number,
            "subject": ticket.subject,
            "summary": summary(text),
            "expected": local_datetime(
                expected_answer(desk.config, ticket.priority, ticket.opened_at),
                timezone=desk.config.desk.timezone,
                language=desk.language,
            ),
            "hours": office_hours(desk.config, desk.language),
        },
    )
    record_event(session, ticket, actor="system", kind="confirmation_queued", now=now)


def open_for_resident(
    session: Session,
    desk: Desk,
    *,
    requester: str,
    name: str,
    subject: str,
    text: str,
    channel: Channel,
    actor: str,
    now: datetime,
    attachments: Sequence[MailAttachment] = (),
) -> Ticket:
    """A ticket opened by staff for a resident who phoned, came to the lobby or was relayed.

    The resident's words are recorded as theirs, through the channel they used,
    and they get the usual confirmation.
    """
    ticket = open_ticket(
        session,
        desk,
        subject=subject,
        requester_email=requester,
        requester_name=name,
        channel=channel,
        now=now,
        text=text,
        actor=actor,
    )
    add_message(
        session,
        desk,
        ticket,
        kind="normal",
        public=True,
        sender_email=requester,
        sender_name=name,
        text=text,
        subject=subject,
        attachments=attachments,
        now=now,
        actor=actor,
        event="message",
        detail={"channel": channel.value},
    )
    send_confirmation(session, desk, ticket, text=text, now=now)
    return ticket


def transition(
    session: Session,
    ticket: Ticket,
    action: Action,
    *,
    actor: str,
    now: datetime,
    note: str = "",
    success: bool = True,
) -> State:
    """Move the ticket through the state machine, keeping its times and history."""
    before = State(ticket.state)
    after = states.apply(before, action)
    ticket.state = after.value
    if after is State.VALIDACION:
        ticket.resolved_at = now
        ticket.resolution = note or ticket.resolution
    if after is State.CERRADO:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
        ticket.outcome = "success" if success else "failure"
        ticket.resolution = note or ticket.resolution
    if before is State.CERRADO or (before is State.VALIDACION and after is State.EN_PROGRESO):
        ticket.closed_at = None
        ticket.resolved_at = None
        ticket.outcome = None
    if after is not before:
        detail: dict[str, Any] = {"from": before.value, "to": after.value, "action": action.value}
        if note:
            detail["note"] = note
        if after is State.CERRADO:
            detail["outcome"] = ticket.outcome
        record_event(session, ticket, actor=actor, kind="state", now=now, detail=detail)
    return after


def assign(
    session: Session,
    ticket: Ticket,
    *,
    assignee: str | None,
    team: str | None,
    actor: str,
    now: datetime,
) -> None:
    """Give the ticket to a person (and their team) or to a team."""
    ticket.assignee = assignee.lower() if assignee else None
    if team is not None:
        ticket.team = team
    record_event(
        session,
        ticket,
        actor=actor,
        kind="assigned",
        now=now,
        detail={"assignee": ticket.assignee, "team": ticket.team},
    )


def set_field(
    session: Session, ticket: Ticket, name: str, value: str, *, actor: str, now: datetime
) -> None:
    """Change the priority or the category, recording the old value."""
    if name not in ("priority", "category"):
        raise ValueError(name)
    old = getattr(ticket, name)
    if old == value:
        return
    setattr(ticket, name, value)
    record_event(
        session, ticket, actor=actor, kind=name, now=now, detail={"from": old, "to": value}
    )


def add_message(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    kind: str,
    public: bool,
    sender_email: str,
    sender_name: str,
    text: str,
    now: datetime,
    actor: str,
    event: str,
    subject: str = "",
    attachments: Sequence[MailAttachment] = (),
    inbound_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Message:
    """A message written on someone's behalf (not a parsed mail), with its files and event."""
    message = Message(
        ticket_id=ticket.id,
        direction="inbound",
        kind=kind,
        public=public,
        sender_email=sender_email.lower(),
        sender_name=sender_name,
        subject=subject,
        text=text,
        created_at=now,
        inbound_id=inbound_id,
    )
    session.add(message)
    session.flush()
    store_attachments(session, desk, message, attachments)
    record_event(
        session,
        ticket,
        actor=actor,
        kind=event,
        now=now,
        detail={**(detail or {}), "message": message.id},
    )
    return message


def add_note(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    actor: str,
    actor_name: str,
    text: str,
    kind: str = "note",
    attachments: Sequence[MailAttachment] = (),
    now: datetime,
    inbound_id: int | None = None,
) -> Message:
    """An internal message: staff notes, vendor replies, unverified mail. Never public."""
    return add_message(
        session,
        desk,
        ticket,
        kind=kind,
        public=False,
        sender_email=actor,
        sender_name=actor_name,
        text=text,
        attachments=attachments,
        now=now,
        actor=actor,
        event=kind,
        inbound_id=inbound_id,
    )


def mark_first_response(ticket: Ticket, now: datetime) -> None:
    if ticket.first_response_at is None:
        ticket.first_response_at = now
