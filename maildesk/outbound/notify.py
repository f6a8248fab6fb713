"""Who hears about a ticket, and the mails they get (queued, never sent inline).

Staff get notices with the resident's words and a Reply-To signed for them alone
(their reply is then proven theirs). Residents get the staff's answers from the
desk address, with the staff member's name but never their address, and a short
mail on the changes that matter to them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from maildesk.config import StaffConfig
from maildesk.context import Desk
from maildesk.directory import lookup as directory
from maildesk.domain import SUPERVISING, Attachment, Change, Notice, OutboxKind
from maildesk.inbound.commands import COMMAND_HELP
from maildesk.inbound.correlate import tagged_subject
from maildesk.labels import channel_label
from maildesk.localtime import local_datetime
from maildesk.models import Ticket
from maildesk.outbound.mailer import queue_mail
from maildesk.records import cause_label, type_hint, type_label
from maildesk.sla.facts import sla_of

log = logging.getLogger(__name__)

NOTICE_TEXT_MAX = 50_000
"""Characters of a resident's text a notice carries; a 50 MB body made 105 MB notices."""


def tagged(desk: Desk, ticket: Ticket) -> str:
    return tagged_subject(
        ticket.subject, ticket.number, desk.config.desk.tag_prefix, ticket.foreign_tags.splitlines()
    )


def staff_for(desk: Desk, ticket: Ticket, *, exclude: str | None = None) -> list[StaffConfig]:
    """The assignee if there is one, else the ticket's team, else the supervisors."""
    config = desk.config
    people: Sequence[StaffConfig] = ()
    if ticket.assignee:
        member = config.staff_member(ticket.assignee)
        people = (member,) if member is not None else ()
    if not people and ticket.team:
        people = config.team_members(ticket.team)
    if not people:
        people = tuple(s for s in config.staff if s.role in SUPERVISING)
    chosen = [p for p in people if not exclude or p.email.lower() != exclude.lower()]
    if not chosen and not people:
        log.warning("ticket %s has nobody to notify (team %s)", ticket.number, ticket.team)
    return chosen


def due_lines(desk: Desk, ticket: Ticket, now: datetime) -> list[tuple[str, str, str]]:
    """(target, when, met|missed|late|due|paused) of each SLA target, for staff mails."""
    lines = []
    for name, status in sla_of(desk.config, ticket, now).items():
        if status.met is not None:
            mark = "met" if status.met else "missed"
        elif status.breached:
            mark = "late"
        else:
            mark = "due" if status.due_at is not None else "paused"
        when = status.due_at
        shown = ""
        if when is not None:
            shown = local_datetime(when, timezone=desk.config.desk.timezone, language=desk.language)
        lines.append((name, shown, mark))
    return lines


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def mail_staff(
    session: Session,
    desk: Desk,
    member: StaffConfig,
    *,
    kind: OutboxKind,
    ticket: Ticket | None,
    now: datetime,
    context: Mapping[str, Any],
    attachments: Sequence[Attachment] = (),
    record_text: str | None = None,
) -> None:
    """A mail to one staff member: internal on the ticket, Reply-To signed for them alone."""
    queue_mail(
        session,
        desk,
        kind=kind,
        to=member.email,
        to_name=member.name,
        ticket=ticket,
        now=now,
        public=False,
        sign_for_recipient=True,
        attachments=attachments,
        record_text=record_text,
        context=context,
    )


def notify_staff(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    notice: Notice,
    text: str,
    now: datetime,
    attachments: Sequence[Attachment] = (),
    actor: str = "",
    people: Sequence[StaffConfig] | None = None,
) -> None:
    """One notice per staff member concerned (the actor is never told of their own act)."""
    recipients = list(people) if people is not None else staff_for(desk, ticket, exclude=actor)
    text_cut = len(text) > NOTICE_TEXT_MAX
    text = text[:NOTICE_TEXT_MAX]
    console_url = f"{desk.config.desk.base_url.rstrip('/')}/staff/t/{ticket.number}"
    for member in recipients:
        if actor and member.email.lower() == actor.lower():
            continue
        mail_staff(
            session,
            desk,
            member,
            kind=OutboxKind.STAFF_NOTICE,
            ticket=ticket,
            now=now,
            attachments=attachments,
            record_text=f"[{notice}] {text}",
            context={
                "notice": notice.value,
                "number": ticket.number,
                "subject": ticket.subject,
                "tagged_subject": tagged(desk, ticket),
                "requester_name": ticket.requester_name,
                "requester_email": ticket.requester_email,
                "unit": ticket.unit,
                **directory.shown_units(ticket),
                "category": ticket.category,
                "priority": ticket.priority,
                "state": ticket.state,
                "team": ticket.team,
                "assignee": ticket.assignee,
                "channel": channel_label(ticket.channel, desk.language),
                "type": type_label(desk.config, ticket.type, desk.language),
                "hint": type_hint(desk.config, ticket.type, desk.language),
                "starts_on": _day(ticket.starts_on),
                "deadline": _day(ticket.deadline),
                "cause": cause_label(desk.config, ticket.cause),
                "text": text,
                "text_cut": text_cut,
                "console_url": console_url,
                "attachments": [a.filename for a in attachments],
                "commands": COMMAND_HELP[desk.language],
                "status_url": desk.status_url(ticket.status_token),
                "actor": actor,
                "due": due_lines(desk, ticket, now),
            },
        )


def mail_resident(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    kind: OutboxKind,
    now: datetime,
    context: Mapping[str, Any],
    automatic: bool = False,
    from_name: str | None = None,
    attachments: Sequence[Attachment] = (),
    record_text: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] | None = None,
) -> None:
    """A mail to the ticket's requester, in the resident's thread, with the status link.

    A resident registered without email (a walk-in) gets none."""
    if not ticket.requester_email:
        return
    queue_mail(
        session,
        desk,
        kind=kind,
        to=ticket.requester_email,
        to_name=ticket.requester_name,
        ticket=ticket,
        now=now,
        automatic=automatic,
        from_name=from_name,
        attachments=attachments,
        record_text=record_text,
        in_reply_to=in_reply_to,
        references=references,
        context={
            "requester_name": ticket.requester_name,
            "tagged_subject": tagged(desk, ticket),
            "status_url": desk.status_url(ticket.status_token),
            **context,
        },
    )


def answer_resident(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    staff_name: str,
    text: str,
    now: datetime,
    attachments: Sequence[Attachment] = (),
    state_note: Change | None = None,
) -> None:
    """A staff member's words to the resident, from the desk address, in the ticket's thread.

    The resident sees the staff member's name, never their address.
    """
    name = staff_name
    mail_resident(
        session,
        desk,
        ticket,
        kind=OutboxKind.STAFF_REPLY,
        now=now,
        from_name=f"{name} ({desk.config.desk.name})",
        attachments=attachments,
        record_text=text,
        context={
            "text": text,
            "staff_name": name,
            "state_note": state_note.value if state_note else "",
        },
    )


def tell_resident(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    change: Change,
    now: datetime,
    note: str = "",
    staff_name: str = "",
) -> None:
    """A short mail on a change that matters to the resident (taken, waiting, resolved, …)."""
    mail_resident(
        session,
        desk,
        ticket,
        kind=OutboxKind.STATE_CHANGE,
        now=now,
        automatic=True,
        context={"change": change.value, "note": note, "staff_name": staff_name},
    )
