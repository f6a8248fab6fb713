"""A proven staff member's mail about a ticket: commands, then an answer or a note.

All or nothing: every command is checked first (syntax, the sender's role, the
state machine); if anything is wrong nothing changes and the sender gets a mail
saying what. Otherwise the commands are applied in order, and the text after them
goes to the resident (or stays internal with `#nota`). A reply made only of
commands sends the resident nothing but the short notice a state change deserves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from maildesk import notify, quotes, states, tickets
from maildesk.commands import (
    COMMAND_HELP,
    PROBLEM_TEXT,
    Command,
    Detail,
    Parsed,
    Verb,
    Vocabulary,
    parse,
    transition_detail,
)
from maildesk.config import Config, StaffConfig
from maildesk.context import Desk
from maildesk.domain import Attachment as MailAttachment
from maildesk.domain import Channel, ParsedMail, State
from maildesk.mailer import queue_mail
from maildesk.models import Message, Ticket
from maildesk.states import Action, InvalidTransition

SUPERVISING = notify.SUPERVISING

# What each command means for the state machine (None: no state change of its own).
ACTIONS: dict[Verb, Action | None] = {
    Verb.NOTE: None,
    Verb.TAKE: Action.TAKE,
    Verb.ASSIGN: Action.ASSIGN,
    Verb.PRIORITY: None,
    Verb.CATEGORY: None,
    Verb.WAIT: Action.WAIT,
    Verb.RESOLVE: Action.RESOLVE,
    Verb.CLOSE: Action.CLOSE,
    Verb.REOPEN: Action.REOPEN,
    Verb.VENDOR: None,
    Verb.OPEN: None,
}

# The resident hears of these changes.
RESIDENT_NOTICE = {
    Action.WAIT: "waiting",
    Action.RESOLVE: "resolved",
    Action.CLOSE: "closed",
    Action.REOPEN: "reopened",
}


def vocabulary(config: Config) -> Vocabulary:
    return Vocabulary(
        priorities=tuple(config.priorities),
        categories=tuple(config.categories),
        teams=config.teams,
        staff={s.email.lower(): s.name for s in config.staff},
    )


def may_act(member: StaffConfig, ticket: Ticket) -> bool:
    """Agents act on their own tickets and their teams'; supervisors and above on any."""
    if member.role in SUPERVISING:
        return True
    if ticket.assignee and ticket.assignee.lower() == member.email.lower():
        return True
    return ticket.team in member.teams


def _action(command: Command, state: State) -> Action | None:
    if command.verb is Verb.STATUS:
        target = State(command.value)
        if target is state:
            return None
        action = states.action_towards(state, target)
        if action is None:
            raise InvalidTransition(state, Action.START, f"cannot go from {state} to {target}")
        return action
    action = ACTIONS.get(command.verb)
    if action in (Action.TAKE, Action.ASSIGN) and state in (State.EN_PROGRESO, State.EN_ESPERA):
        return None  # taking over a ticket in progress changes the owner, not the state
    return action


@dataclass(frozen=True, slots=True)
class Problem:
    """A reason to change nothing; `detail` is worded in the desk's language by the template."""

    line: str
    code: str
    detail: Detail | None = None


def check(parsed: Parsed, member: StaffConfig, ticket: Ticket) -> list[Problem]:
    """Every reason this mail must change nothing."""
    problems = [Problem(p.line, p.code, p.detail) for p in parsed.problems]
    if not may_act(member, ticket) and any(c.verb is not Verb.OPEN for c in parsed.commands):
        team = ticket.team or "-"
        problems.append(Problem("", "forbidden", Detail("forbidden", member.role, (team,))))
    state = State(ticket.state)
    for command in parsed.commands:
        try:
            action = _action(command, state)
            if action is not None:
                state = states.apply(state, action)
        except InvalidTransition as exc:
            detail = transition_detail(exc.state, exc.action, command)
            problems.append(Problem(command.line, "invalid_transition", detail))
    # A reply whose only lines were bad commands is not also "empty".
    if not parsed.commands and not parsed.body.strip() and not parsed.problems:
        problems.append(Problem("", "missing_argument", Detail("empty_reply")))
    return problems


def handle(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    member: StaffConfig,
    *,
    now: datetime,
    inbound_id: int,
) -> None:
    text = quotes.reply_text(mail, signer_names=_names(member))
    parsed = parse(text, vocabulary(desk.config))
    problems = check(parsed, member, ticket)
    if problems:
        refuse(session, desk, ticket, member, problems, now=now)
        return
    actor = member.email.lower()
    notice = ""
    for command in parsed.commands:
        before = State(ticket.state)
        action = _apply(session, desk, ticket, command, member, now=now)
        if action is not None:
            notice = _resident_notice(before, action, command.success) or notice
    body = parsed.body.strip()
    if parsed.is_note:
        tickets.add_note(
            session,
            desk,
            ticket,
            actor=actor,
            actor_name=member.name,
            now=now,
            text=body or _note_of(parsed.commands),
            attachments=mail.attachments,
            inbound_id=inbound_id,
        )
        notify.notify_staff(session, desk, ticket, notice="note", text=body, now=now, actor=actor)
    elif body:
        notify.answer_resident(
            session,
            desk,
            ticket,
            member=member,
            text=body,
            now=now,
            attachments=[a for a in mail.attachments if not a.inline],
            state_note=notice,
        )
        tickets.mark_first_response(ticket, now)
        tickets.record_event(session, ticket, actor=actor, kind="reply", now=now)
    if notice and not (body and not parsed.is_note):
        note = next((c.note for c in parsed.commands if c.note), "")
        notify.tell_resident(
            session,
            desk,
            ticket,
            change=notice,
            now=now,
            note=note,
            staff_name=member.name if notice == "taken" else "",
        )


def _names(member: StaffConfig) -> tuple[str, ...]:
    """How a staff member signs: full name and first name."""
    return (member.name, member.name.split(" ")[0]) if member.name else ()


def _note_of(commands: Sequence[Command]) -> str:
    return next((c.note for c in commands if c.verb is Verb.NOTE and c.note), "")


def _resident_notice(before: State, action: Action, success: bool) -> str:
    if before is State.RECIBIDO and action in (Action.TAKE, Action.ASSIGN, Action.START):
        return "taken"
    if action is Action.CLOSE and not success:
        return "closed_failed"
    return RESIDENT_NOTICE.get(action, "")


def _apply(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    command: Command,
    member: StaffConfig,
    *,
    now: datetime,
) -> Action | None:
    """Carry out one checked command; returns the state machine action it took, if any."""
    actor = member.email.lower()
    verb = command.verb
    if verb in (Verb.TAKE, Verb.ASSIGN):
        _assign(session, desk, ticket, command, member, now=now)
    elif verb in (Verb.PRIORITY, Verb.CATEGORY):
        tickets.set_field(session, ticket, verb.value, command.value, actor=actor, now=now)
    elif verb is Verb.VENDOR:
        _ask_vendor(session, desk, ticket, command, member, now=now)
    elif verb is Verb.OPEN:
        tickets.open_for_resident(
            session,
            desk,
            requester=command.value,
            name="",
            subject=ticket.subject,
            text=command.note,
            channel=Channel.EMAIL,
            actor=actor,
            now=now,
        )
        return None
    action = _action(command, State(ticket.state))
    if action is None:
        return None
    tickets.transition(
        session, ticket, action, actor=actor, now=now, note=command.note, success=command.success
    )
    if action is Action.REOPEN:
        notify.notify_staff(
            session, desk, ticket, notice="reopened", text=command.note, now=now, actor=actor
        )
    return action


def _assign(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    command: Command,
    member: StaffConfig,
    *,
    now: datetime,
) -> None:
    assignee = member if command.verb is Verb.TAKE else desk.config.staff_member(command.value)
    if assignee is not None:
        # The ticket stays with its team when the new owner belongs to it.
        keep = ticket.team in assignee.teams or not assignee.teams
        team = ticket.team if keep else assignee.teams[0]
    else:
        team = command.value
    tickets.assign(
        session,
        ticket,
        assignee=assignee.email if assignee else None,
        team=team,
        actor=member.email.lower(),
        now=now,
    )
    if command.verb is Verb.ASSIGN:
        notify.notify_staff(
            session,
            desk,
            ticket,
            notice="reassigned",
            text=command.note or ticket.subject,
            now=now,
            actor=member.email,
        )


def _ask_vendor(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    command: Command,
    member: StaffConfig,
    *,
    now: datetime,
) -> None:
    """Send the ticket's summary and attachments to an outside vendor, from the desk."""
    vendor = command.value.lower()
    tickets.add_participant(session, ticket, vendor, role="vendor")
    first = first_public_message(ticket)
    files: list[MailAttachment] = []
    if first is not None:
        files = [
            MailAttachment(a.filename, a.content_type, desk.blobs.get(a.sha256))
            for a in first.attachments
        ]
    queue_mail(
        session,
        desk,
        kind="vendor_request",
        to=vendor,
        ticket=ticket,
        now=now,
        public=False,
        sign_for_recipient=True,
        attachments=files,
        context={
            "subject": ticket.subject,
            "tagged_subject": notify.tagged(desk, ticket),
            "unit": ticket.unit,
            "message": command.note,
            "text": first.text if first is not None else "",
            "attachments": [f.filename for f in files],
        },
    )
    tickets.record_event(
        session,
        ticket,
        actor=member.email.lower(),
        kind="vendor",
        now=now,
        detail={"vendor": vendor},
    )


def refuse(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    member: StaffConfig,
    problems: Sequence[Problem],
    *,
    now: datetime,
) -> None:
    """Tell the sender what was wrong; the ticket itself is left exactly as it was."""
    notify.mail_staff(
        session,
        desk,
        member,
        kind="command_error",
        ticket=ticket,
        now=now,
        context={
            "tagged_subject": notify.tagged(desk, ticket),
            "problems": [(p.line, p.code, p.detail) for p in problems],
            "problem_text": PROBLEM_TEXT[desk.language],
            "commands": COMMAND_HELP[desk.language],
        },
    )


def first_public_message(ticket: Ticket) -> Message | None:
    return next((m for m in ticket.messages if m.direction == "inbound" and m.public), None)
