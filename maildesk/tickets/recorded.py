"""Mail kept on a ticket that changes nothing: bounces, auto-replies, a vendor's answer,
and a staff address's mail that could not be proven.

Nothing here moves a ticket. The vendor's answer reaches the staff who hold the
ticket; the unproven staff mail is kept as an internal message and its sender is told,
once, why it changed nothing and how to act instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from maildesk.config import StaffConfig
from maildesk.context import Desk
from maildesk.domain import MessageKind, Notice, OutboxKind, ParsedMail
from maildesk.models import Ticket
from maildesk.outbound import notify
from maildesk.tickets.history import add_inbound_message, add_note


def kept(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    *,
    kind: MessageKind,
    now: datetime,
    inbound_id: int,
) -> None:
    """A bounce or an auto-reply about the ticket: kept as an internal message of its kind."""
    add_inbound_message(
        session, desk, ticket, mail, kind=kind, public=False, now=now, inbound_id=inbound_id
    )


def vendor_replied(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    *,
    text: str,
    now: datetime,
    inbound_id: int,
) -> None:
    add_note(
        session,
        desk,
        ticket,
        actor=mail.from_addr,
        actor_name=mail.from_name,
        now=now,
        kind=MessageKind.VENDOR,
        text=text,
        attachments=mail.attachments,
        inbound_id=inbound_id,
    )
    notify.notify_staff(
        session,
        desk,
        ticket,
        notice=Notice.VENDOR_REPLY,
        text=text,
        now=now,
        attachments=mail.attachments,
    )


def unproven_staff(
    session: Session,
    desk: Desk,
    member: StaffConfig,
    mail: ParsedMail,
    *,
    reason: str,
    text: str,
    now: datetime,
    inbound_id: int,
    ticket: Ticket | None,
) -> None:
    """A configured staff address whose mail cannot be proven theirs.

    On a ticket it is kept as an internal `unverified` message; without one it opens
    nothing (a staff address never becomes a resident requester). Either way the
    sender gets one mail saying why and how to act: reply to a notice, or the console.
    """
    if ticket is not None:
        add_note(
            session,
            desk,
            ticket,
            actor=mail.from_addr,
            actor_name=mail.from_name,
            now=now,
            kind=MessageKind.UNVERIFIED,
            text=f"{reason}\n\n{text}",
            attachments=mail.attachments,
            inbound_id=inbound_id,
        )
    notify.mail_staff(
        session,
        desk,
        member,
        kind=OutboxKind.STAFF_UNPROVEN,
        ticket=ticket,
        now=now,
        context={
            "subject": mail.subject,
            "reason": reason,
            "kept": ticket is not None,
            "tagged_subject": notify.tagged(desk, ticket) if ticket is not None else mail.subject,
            "console_url": desk.config.desk.base_url.rstrip("/") + "/staff/",
            "days": desk.config.desk.staff_reply_days,
        },
    )


def commands_refused(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    member: StaffConfig,
    problems: Sequence[tuple[str, str, object]],
    *,
    problem_text: Mapping[str, str],
    command_help: Sequence[tuple[str, str]],
    now: datetime,
) -> None:
    """A staff mail whose commands changed nothing: its sender learns each (line, code,
    detail) that was wrong, and the valid commands."""
    notify.mail_staff(
        session,
        desk,
        member,
        kind=OutboxKind.COMMAND_ERROR,
        ticket=ticket,
        now=now,
        context={
            "tagged_subject": notify.tagged(desk, ticket),
            "problems": list(problems),
            "problem_text": problem_text,
            "commands": command_help,
        },
    )


def staff_of_another_building(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    member: StaffConfig,
    building: str,
    mail: ParsedMail,
    *,
    now: datetime,
) -> None:
    """Staff of another building of the install wrote on this desk's ticket: nothing
    changes (not even the ticket's history) and they are told whose building it is."""
    notify.mail_staff(
        session,
        desk,
        member,
        kind=OutboxKind.STAFF_ELSEWHERE,
        ticket=None,
        now=now,
        context={
            "subject": mail.subject,
            "tagged_subject": notify.tagged(desk, ticket),
            "building": desk.config.desk.name,
            "their_building": building,
        },
    )
