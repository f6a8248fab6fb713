"""What a resident does to their own ticket: reply, confirm or reject a resolution, rate,
withdraw.

Mail and the status page call the same functions, so a confirmation closes the ticket,
tells the resident and tells staff the same way whichever way it came.

A reply (`replied`) first decides its effect with the pure rules in `states`: in
en espera it resumes the ticket; in validación a confirmation confirms and anything
else rejects; shortly after closure it reopens; long after closure it belongs to a new
ticket (the caller opens one, linked to the old). A reply that would confirm, reject or
reopen does so only when it proves its sender (`verified`: sent to the ticket's signed
reply address, or a trusted DMARC pass); anyone can forge `From:` and copy a subject
tag. Otherwise it is kept, marked unverified, and the requester is asked to act from
their page, which only they can open.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from maildesk.context import Desk
from maildesk.domain import Attachment as MailAttachment
from maildesk.domain import (
    Change,
    EventKind,
    MessageKind,
    Notice,
    OutboxKind,
    ParsedMail,
    State,
)
from maildesk.errors import Refused
from maildesk.models import Ticket
from maildesk.outbound import notify
from maildesk.tickets import states
from maildesk.tickets.actor import Actor, require_change
from maildesk.tickets.changes import transition
from maildesk.tickets.history import add_inbound_message, record_event
from maildesk.tickets.states import Action, ResidentEffect

# What staff read when the resident acted from the page, without words of their own.
_FROM_PAGE = {
    "es": {
        "confirm": "El residente confirmó la solución desde la página.",
        "reject": "El residente rechazó la solución desde la página.",
        "withdraw": "Retirada por el residente.",
    },
    "en": {
        "confirm": "The resident confirmed the resolution on the page.",
        "reject": "The resident rejected the resolution on the page.",
        "withdraw": "Withdrawn by the resident.",
    },
}


# A reply that neither confirms nor rejects: its step (if any) and what staff hear.
_REPLY_MOVES = {
    ResidentEffect.NONE: (None, Notice.RESIDENT_REPLY),
    ResidentEffect.RESUME: (Action.RESUME, Notice.RESIDENT_REPLY),
    ResidentEffect.REOPEN: (Action.REOPEN, Notice.REOPENED),
}


# What a reply does only when it proves its sender.
_CONSEQUENTIAL = frozenset({ResidentEffect.CONFIRM, ResidentEffect.REOPEN})


def _words(desk: Desk, key: str) -> str:
    return _FROM_PAGE.get(desk.language, _FROM_PAGE["es"])[key]


def replied(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    actor: Actor,
    mail: ParsedMail,
    *,
    text: str,
    now: datetime,
    inbound_id: int | None,
    verified: bool,
) -> bool:
    """The resident's reply (already quote-stripped as `text`) enters the ticket.

    Returns False, writing nothing, when the reply belongs to a new ticket instead:
    long after closure, or on a ticket whose personal data was purged.
    """
    if ticket.purged_at is not None:
        return False
    effect = states.resident_reply_effect(
        State(ticket.state),
        text=text,
        closed_at=ticket.closed_at,
        now=now,
        reopen_days=desk.config.desk.reopen_days,
    )
    if effect is ResidentEffect.NEW_TICKET:
        return False
    if effect in _CONSEQUENTIAL and not verified:
        _unverified(session, desk, ticket, mail, text=text, now=now, inbound_id=inbound_id)
        return True
    add_inbound_message(
        session,
        desk,
        ticket,
        mail,
        kind=MessageKind.NORMAL,
        public=True,
        now=now,
        inbound_id=inbound_id,
        text=text,
    )
    if effect is ResidentEffect.CONFIRM:
        confirm(session, desk, ticket, actor, now=now, note=text, attachments=mail.attachments)
    elif effect is ResidentEffect.REOPEN and ticket.state == State.VALIDACION.value:
        reject(session, desk, ticket, actor, now=now, reason=text, attachments=mail.attachments)
    else:
        action, notice = _REPLY_MOVES[effect]
        require_change(actor, ticket)
        _move_and_tell(
            session,
            desk,
            ticket,
            actor,
            action,
            notice=notice,
            text=text,
            note=text if action is Action.REOPEN else "",
            now=now,
            attachments=mail.attachments,
        )
    return True


def _unverified(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    *,
    text: str,
    now: datetime,
    inbound_id: int | None,
) -> None:
    """An unproven reply that would have confirmed, rejected or reopened: shown on the
    page and the console marked unverified, staff told, the requester asked (one
    automatic mail, capped per hour) to act from their page; the ticket stays as it was."""
    add_inbound_message(
        session,
        desk,
        ticket,
        mail,
        kind=MessageKind.UNVERIFIED,
        public=True,
        now=now,
        inbound_id=inbound_id,
        text=text,
    )
    notify.notify_staff(
        session,
        desk,
        ticket,
        notice=Notice.RESIDENT_UNVERIFIED,
        text=text,
        now=now,
        attachments=mail.attachments,
    )
    notify.mail_resident(
        session, desk, ticket, kind=OutboxKind.CONFIRM_ON_PAGE, now=now, automatic=True, context={}
    )


def _require_validation(actor: Actor, ticket: Ticket) -> None:
    """The resident's own ticket, awaiting their confirmation."""
    require_change(actor, ticket)
    if ticket.state != State.VALIDACION.value:
        raise Refused("not_in_validation", ticket.state)


def confirm(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    actor: Actor,
    *,
    now: datetime,
    note: str = "",
    attachments: Sequence[MailAttachment] = (),
) -> None:
    """The resident confirms the resolution: closed, the resident told, staff told."""
    _require_validation(actor, ticket)
    _move_and_tell(
        session,
        desk,
        ticket,
        actor,
        Action.CONFIRM,
        notice=Notice.RESIDENT_REPLY,
        text=note or _words(desk, "confirm"),
        note=note,
        now=now,
        attachments=attachments,
        tell=Change.CLOSED,
    )


def reject(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    actor: Actor,
    *,
    now: datetime,
    reason: str = "",
    attachments: Sequence[MailAttachment] = (),
) -> None:
    """The resident says it is not solved: back in progress, staff told (an unhappy
    resident is also what escalates to direction)."""
    _require_validation(actor, ticket)
    _move_and_tell(
        session,
        desk,
        ticket,
        actor,
        Action.REJECT,
        notice=Notice.REOPENED,
        text=reason or _words(desk, "reject"),
        note=reason,
        now=now,
        attachments=attachments,
    )


def _move_and_tell(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    actor: Actor,
    action: Action | None,
    *,
    notice: Notice,
    text: str,
    now: datetime,
    attachments: Sequence[MailAttachment],
    note: str,
    tell: Change | None = None,
    success: bool = True,
) -> None:
    """The resident's step through the state machine (if any), the resident told of the
    change when it ends their request (`tell`), and the staff told; rights checked."""
    if action is not None:
        transition(
            session,
            ticket,
            action,
            config=desk.config,
            actor=actor.email,
            now=now,
            note=note,
            success=success,
        )
    if tell is not None:
        notify.tell_resident(session, desk, ticket, change=tell, now=now)
    notify.notify_staff(
        session,
        desk,
        ticket,
        notice=notice,
        text=text,
        now=now,
        attachments=attachments,
        actor=actor.email,
    )


def withdraw(session: Session, desk: Desk, ticket: Ticket, actor: Actor, *, now: datetime) -> None:
    """The resident withdraws an open request: closed without success ("retirada por el
    residente"), the resident told once, the staff holding it told.

    Only from the status page (its token is the proof); a mail cannot withdraw.
    """
    require_change(actor, ticket)
    if not states.is_open(State(ticket.state)):
        raise Refused("already_closed", ticket.state)
    reason = _words(desk, "withdraw")
    _move_and_tell(
        session,
        desk,
        ticket,
        actor,
        Action.CLOSE,
        notice=Notice.WITHDRAWN,
        text=reason,
        note=reason,
        now=now,
        attachments=(),
        tell=Change.WITHDRAWN,
        success=False,
    )


def rate(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    actor: Actor,
    *,
    rating: int | None,
    comment: str,
    now: datetime,
) -> None:
    """The resident rates a closed ticket, once (two racing posts still rate it once)."""
    require_change(actor, ticket)
    if ticket.state != State.CERRADO.value:
        raise Refused("not_closed", ticket.state)
    if ticket.rating is not None:
        raise Refused("already_rated", str(ticket.rating))
    if rating not in (1, 2, 3, 4, 5):
        raise Refused("rate_invalid", str(rating))
    changed = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.rating.is_(None))
        .values(rating=rating, rating_comment=comment, rated_at=now)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    ).first()
    if changed is None:
        raise Refused("already_rated", "")
    record_event(
        session,
        ticket,
        actor=actor.email,
        kind=EventKind.RATED,
        now=now,
        detail={"rating": rating, "comment": comment} if comment else {"rating": rating},
    )
