"""The plain row writers of a ticket's history: numbers, events, participants, messages
and their attachments.

They decide nothing and send nothing: the actions in this package call them after
checking the state machine and the actor's rights. They take a session and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maildesk import logs
from maildesk.context import Desk
from maildesk.domain import Attachment as MailAttachment
from maildesk.domain import Direction, EventKind, MessageKind, ParsedMail, ParticipantRole
from maildesk.models import Attachment, Event, Message, Participant, Ticket
from maildesk.models import Desk as DeskRow


def next_number(session: Session, desk_id: int) -> int:
    """Take the desk's next ticket number; the row update serialises concurrent workers.

    Nothing pending in the session bears on it, so it runs on the session's connection:
    no flush first, and none of the ORM's bookkeeping (a tenth of the time)."""
    number = (
        session.connection()
        .execute(
            update(DeskRow)
            .where(DeskRow.id == desk_id)
            .values(next_number=DeskRow.next_number + 1)
            .returning(DeskRow.next_number)
        )
        .scalar_one()
    )
    return int(number) - 1


def record_event(
    session: Session,
    ticket: Ticket,
    *,
    actor: str,
    kind: EventKind,
    now: datetime,
    detail: Mapping[str, Any] | None = None,
) -> Event:
    event = Event(
        ticket=ticket,
        at=now,
        actor=actor,
        kind=kind.value,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
    )
    session.add(event)
    ticket.updated_at = now
    logs.note(ticket=ticket.number)
    return event


def add_participant(
    session: Session,
    ticket: Ticket,
    email: str,
    *,
    role: ParticipantRole,
    name: str = "",
) -> None:
    """Add `email` to the ticket once.

    The row is written with the session's next flush, which any query of participants
    makes first. A ticket not written yet has only the participants added to it here,
    so they are looked for among those (a new ticket's requester: nobody, no query)."""
    email = email.strip().lower()
    if not email:
        return
    if ticket.id is None:
        exists = any(p.email == email for p in ticket.participants)
    else:
        exists = (
            session.scalar(
                select(Participant.id).where(
                    Participant.ticket_id == ticket.id, Participant.email == email
                )
            )
            is not None
        )
    if not exists:
        session.add(Participant(ticket=ticket, email=email, name=name, role=role.value))


def participant_role(session: Session, ticket: Ticket, address: str) -> ParticipantRole | None:
    found = session.scalar(
        select(Participant.role).where(
            Participant.ticket_id == ticket.id, Participant.email == address.lower()
        )
    )
    return ParticipantRole(found) if found else None


def store_attachments(
    session: Session, desk: Desk, message: Message, items: Iterable[MailAttachment]
) -> list[Attachment]:
    """Keep the bytes once under data_dir and list them on the message; the rows, in order."""
    rows = [
        Attachment(
            message_id=message.id,
            filename=item.filename,
            content_type=item.content_type,
            size=len(item.data),
            sha256=desk.blobs.put(item.data),
            inline=item.inline,
            content_id=item.content_id,
        )
        for item in items
    ]
    session.add_all(rows)
    return rows


def add_inbound_message(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    *,
    kind: MessageKind,
    public: bool,
    now: datetime,
    inbound_id: int | None,
    text: str | None = None,
) -> Message:
    """Record a mail we received on its ticket, with its attachments.

    `text` replaces the mail's own text, e.g. a reply without its quoted history.
    """
    message = Message(
        ticket=ticket,
        direction=Direction.INBOUND.value,
        kind=kind.value,
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
        kind=EventKind.MESSAGE if public else EventKind(kind.value),
        now=now,
        detail={"message": message.id, "attachments": len(mail.attachments)},
    )
    return message


def add_message(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    kind: MessageKind,
    public: bool,
    sender_email: str,
    sender_name: str,
    text: str,
    now: datetime,
    actor: str,
    event: EventKind,
    subject: str = "",
    attachments: Sequence[MailAttachment] = (),
    inbound_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Message:
    """A message written on someone's behalf (not a parsed mail), with its files and event."""
    message = Message(
        ticket=ticket,
        direction=Direction.INBOUND.value,
        kind=kind.value,
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
    kind: MessageKind = MessageKind.NOTE,
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
        event=EventKind(kind.value),
        inbound_id=inbound_id,
    )


def first_public_message(ticket: Ticket) -> Message | None:
    return next(
        (m for m in ticket.messages if m.direction == Direction.INBOUND.value and m.public), None
    )
