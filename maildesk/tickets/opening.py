"""Opening a ticket: by a resident's mail, or by staff for a call, a visit or a relay.

Whatever the channel, a new ticket is classified and routed by the desk's rules, the
resident's words are recorded as theirs, the resident gets the confirmation (number,
summary, status link, expected answer) and the routed team is notified. Mail that was
already in the mailbox when maildesk started (imported) keeps its own date and is
neither confirmed, announced nor escalated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from maildesk import signing
from maildesk.context import Desk
from maildesk.directory import lookup as directory
from maildesk.domain import Attachment as MailAttachment
from maildesk.domain import (
    Channel,
    EventKind,
    MessageKind,
    Notice,
    OutboxKind,
    ParsedMail,
    ParticipantRole,
    State,
)
from maildesk.errors import Refused
from maildesk.inbound import correlate
from maildesk.kb.suggest import suggest
from maildesk.localtime import local_datetime, local_day
from maildesk.models import Ticket
from maildesk.outbound import notify
from maildesk.sla.policy import expected_answer, office_hours
from maildesk.tickets.actor import Actor
from maildesk.tickets.classify import classify, route
from maildesk.tickets.due import refresh_due
from maildesk.tickets.history import (
    add_inbound_message,
    add_message,
    add_participant,
    next_number,
    record_event,
)

SUMMARY_CHARS = 600
# An address a confirmation can reach: one @, a dotted domain, no spaces or brackets.
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+")


def is_address(value: str) -> bool:
    return bool(_ADDRESS.fullmatch(value.strip()))


def open_ticket(
    session: Session,
    desk: Desk,
    *,
    subject: str,
    requester_email: str,
    requester_name: str,
    channel: str,
    now: datetime,
    actor: str,
    text: str = "",
    related: int | None = None,
    foreign_tags: Sequence[str] = (),
    imported: bool = False,
    category: str = "",
    priority: str = "",
    unit: str = "",
    kind: str = "",
) -> Ticket:
    """The ticket row, classified and routed, with its requester and its first event.

    Nothing is flushed: the rows are written with the first message (`add_inbound_message`,
    `add_message`), whose flush the ticket's id comes from.

    A sender the directory knows gets their unit valid today and their relation to it
    (when they have several, the one the text names); `unit` stays what the text named.

    A category, priority or unit staff chose replaces the rules' guess, and so does the
    request type's default category; the team is routed from the chosen category and unit.
    """
    guess = classify(desk.config, subject=subject, text=text, sender=requester_email)
    chosen_type = desk.config.types.get(kind)
    category = category or (chosen_type.category if chosen_type is not None else "")
    if category or priority or unit:
        chosen_category, chosen_unit = category or guess.category, unit or guess.unit
        team = route(
            desk.config,
            category=chosen_category,
            text=f"{subject}\n{text}",
            unit=chosen_unit,
            sender=requester_email,
        )
        guess = replace(
            guess,
            category=chosen_category,
            priority=priority or guess.priority,
            unit=chosen_unit,
            team=team,
        )
    # Nothing written with a ticket is read here (nor by the articles' search below):
    # such reads need not flush the caller's pending rows first.
    with session.no_autoflush:
        found = directory.requester(
            session,
            desk.desk_id,
            requester_email,
            local_day(now, timezone=desk.config.desk.timezone),
            named=guess.unit,
            chosen=unit,
        )
    ticket = Ticket(
        desk_id=desk.desk_id,
        number=next_number(session, desk.desk_id),
        subject=subject.strip() or "(sin asunto)",
        state=State.RECIBIDO.value,
        priority=guess.priority,
        category=guess.category,
        team=guess.team,
        unit=guess.unit,
        directory_unit=found.unit,
        requester_relation=found.relation,
        channel=str(channel),
        type=kind or None,
        requester_email=requester_email.lower(),
        requester_name=requester_name,
        status_token=signing.new_token(),
        opened_at=now,
        updated_at=now,
        related_ticket_id=related,
        foreign_tags="\n".join(foreign_tags),
        imported=imported,
        events=[],  # a new ticket has no history: the SLA clock need not query it
    )
    if not imported:
        refresh_due(desk.config, ticket, now)
    session.add(ticket)
    add_participant(
        session,
        ticket,
        requester_email,
        role=ParticipantRole.REQUESTER,
        name=requester_name,
    )
    detail: dict[str, str | bool | None] = {
        "channel": str(channel),
        "category": guess.category,
        "priority": guess.priority,
        "team": guess.team,
        "unit": guess.unit,
    }
    if found.unit is not None:
        detail["directory_unit"] = directory.unit_name(found.unit)
        detail["relation"] = found.relation
    if kind:
        detail["type"] = kind
    if imported:
        detail["imported"] = True
    record_event(session, ticket, actor=actor, kind=EventKind.CREATED, now=now, detail=detail)
    if related is not None:
        record_event(
            session,
            ticket,
            actor="system",
            kind=EventKind.RELATED,
            now=now,
            detail={"ticket_id": related},
        )
    return ticket


def summary(text: str) -> str:
    text = text.strip()
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"


def confirm_receipt(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    text: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] | None = None,
) -> None:
    """The resident's receipt: number, summary, the private status link, when to expect us,
    and the knowledge-base articles that may already answer it (recorded when there are)."""
    with session.no_autoflush:  # the articles are never written with a ticket
        found = suggest(
            session,
            desk.desk_id,
            desk.language,
            f"{ticket.subject}\n{text}",
            base_url=desk.config.desk.base_url,
        )
    notify.mail_resident(
        session,
        desk,
        ticket,
        kind=OutboxKind.CONFIRMATION,
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
            "suggestions": found,
        },
    )
    record_event(session, ticket, actor="system", kind=EventKind.CONFIRMATION_QUEUED, now=now)
    if found:
        record_event(
            session,
            ticket,
            actor="system",
            kind=EventKind.KB_SUGGESTED,
            now=now,
            detail={"slugs": [s.slug for s in found]},
        )


def open_by_mail(
    session: Session,
    desk: Desk,
    mail: ParsedMail,
    *,
    kind: MessageKind,
    may_autoreply: bool,
    now: datetime,
    inbound_id: int,
    related: Ticket | None = None,
    imported: bool = False,
) -> Ticket:
    """A resident's new request by mail; people copied on it may follow it too."""
    opened = _imported_date(mail, now) if imported else now
    ticket = open_ticket(
        session,
        desk,
        subject=correlate.strip_reply_prefixes(mail.subject),
        requester_email=mail.from_addr,
        requester_name=mail.from_name,
        channel=Channel.EMAIL,
        now=opened,
        actor=mail.from_addr.lower(),
        text=mail.text,
        related=related.id if related is not None else None,
        foreign_tags=correlate.foreign_tags(mail.subject, desk.config.desk.tag_prefix),
        imported=imported,
    )
    for address in mail.cc + mail.to:
        if address != mail.from_addr and not signing.is_desk_address(address, desk.address):
            add_participant(session, ticket, address, role=ParticipantRole.CC)
    add_inbound_message(
        session, desk, ticket, mail, kind=kind, public=True, now=opened, inbound_id=inbound_id
    )
    if imported:
        return ticket
    if may_autoreply and mail.from_addr:
        confirm_receipt(
            session,
            desk,
            ticket,
            text=mail.text,
            now=now,
            in_reply_to=mail.message_id,
            references=mail.references,
        )
    notify.notify_staff(
        session,
        desk,
        ticket,
        notice=Notice.NEW,
        text=mail.text,
        now=now,
        attachments=mail.attachments,
    )
    return ticket


def _imported_date(mail: ParsedMail, now: datetime) -> datetime:
    """The mail's own date, when it has a believable one (not in the future)."""
    if mail.date is None or mail.date.tzinfo is None or mail.date > now:
        return now
    return mail.date


def open_for_resident(
    session: Session,
    desk: Desk,
    actor: Actor,
    *,
    requester: str,
    name: str,
    subject: str,
    text: str,
    channel: str,
    now: datetime,
    attachments: Sequence[MailAttachment] = (),
    category: str = "",
    priority: str = "",
    unit: str = "",
    kind: str = "",
) -> Ticket:
    """A ticket opened by staff for a resident who phoned, came to the lobby or was relayed.

    The resident's words are recorded as theirs, through the channel they used; they
    get the usual confirmation and the routed team is notified, as for a mail. A
    resident without email (a walk-in) is named instead and gets no mail. A category,
    priority or unit staff chose replaces the rules' guess; `kind` is a request type of
    `[types]` and `channel` one of `desk.channels` (the intake medium).
    """
    if not actor.is_staff:
        raise Refused("forbidden", f"{actor.email} is not staff of this desk")
    requester = requester.strip().lower()
    if requester and not is_address(requester):
        raise Refused("bad_address", requester)
    if not requester and not name.strip():
        raise Refused("missing_argument", "an email or a name")
    if category and category not in desk.config.categories:
        raise Refused("unknown_category", category)
    if priority and priority not in desk.config.priorities:
        raise Refused("unknown_priority", priority)
    if kind and kind not in desk.config.types:
        raise Refused("unknown_type", ", ".join(desk.config.types))
    if channel not in desk.config.desk.channels and channel not in set(Channel):
        raise Refused("unknown_channel", ", ".join(desk.config.desk.channels))
    return open_with_words(
        session,
        desk,
        requester=requester,
        name=name.strip(),
        subject=subject,
        text=text,
        channel=channel,
        now=now,
        actor=actor.email,
        attachments=attachments,
        category=category,
        priority=priority,
        unit=unit.strip(),
        kind=kind,
    )


def open_with_words(
    session: Session,
    desk: Desk,
    *,
    requester: str,
    name: str,
    subject: str,
    text: str,
    channel: str,
    now: datetime,
    actor: str,
    attachments: Sequence[MailAttachment] = (),
    category: str = "",
    priority: str = "",
    unit: str = "",
    kind: str = "",
) -> Ticket:
    """A request someone typed (staff for a caller, a resident on `/nueva`), checked already.

    One path for both, so a web request is a request like any other: the resident's
    words and files as theirs, the usual confirmation when there is an address, and
    the routed team notified.
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
        category=category,
        priority=priority,
        unit=unit,
        kind=kind,
    )
    add_message(
        session,
        desk,
        ticket,
        kind=MessageKind.NORMAL,
        public=True,
        sender_email=requester,
        sender_name=name,
        text=text,
        subject=subject,
        attachments=attachments,
        now=now,
        actor=actor,
        event=EventKind.MESSAGE,
        detail={"channel": str(channel)},
    )
    if requester:
        confirm_receipt(session, desk, ticket, text=text, now=now)
    notify.notify_staff(
        session,
        desk,
        ticket,
        notice=Notice.NEW,
        text=text,
        now=now,
        attachments=attachments,
        actor=actor,
    )
    return ticket
