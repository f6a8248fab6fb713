"""A proven staff member's mail about a ticket: commands, then an answer or a note.

All or nothing: every command is checked first (syntax, the sender's role, the
state machine); if anything is wrong nothing changes and the sender gets a mail
saying what. Otherwise the commands are applied in order, and the text after them
goes to the resident (or stays internal with `#nota`). A reply made only of
commands sends the resident nothing but the short notice a state change deserves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from types import MappingProxyType

from sqlalchemy.orm import Session

from maildesk.config import Config, StaffConfig
from maildesk.context import Desk
from maildesk.directory import lookup as directory
from maildesk.domain import Channel, ParsedMail, State, Via
from maildesk.errors import Refused
from maildesk.inbound import correlate, quotes
from maildesk.inbound.commands import (
    COMMAND_HELP,
    PROBLEM_TEXT,
    Command,
    Detail,
    Parsed,
    Problem,
    Verb,
    Vocabulary,
    parse,
    transition_detail,
)
from maildesk.models import Ticket
from maildesk.records import cause_words, type_words
from maildesk.tickets import opening, recorded, staff, states
from maildesk.tickets.actor import Actor, may_change
from maildesk.tickets.states import Action, InvalidTransition

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
    Verb.UNIT: None,
    Verb.TYPE: None,
    Verb.CAUSE: None,
    Verb.START: None,
    Verb.DEADLINE: None,
    Verb.KB: None,
}


def vocabulary(config: Config) -> Vocabulary:
    return Vocabulary(
        priorities=tuple(config.priorities),
        categories=tuple(config.categories),
        teams=config.teams,
        staff={s.email.lower(): s.name for s in config.staff},
        types=type_words(config),
        causes=cause_words(config),
    )


def may_act(member: StaffConfig, ticket: Ticket) -> bool:
    """Agents act on their own tickets and their teams'; supervisors and above on any."""
    return may_change(Actor.staff(member, Via.MAIL), ticket)


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


def check(parsed: Parsed, member: StaffConfig, ticket: Ticket) -> list[Problem]:
    """Every reason this mail must change nothing."""
    problems = list(parsed.problems)
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


def unknown_units(session: Session, desk: Desk, parsed: Parsed) -> list[Problem]:
    """Each `#unidad` the directory does not know, with the closest units it has."""
    problems = []
    for command in parsed.commands:
        if command.verb is Verb.UNIT:
            found = directory.find_unit(session, desk.desk_id, command.value)
            if found.unit is None:
                code = "not_unit" if found.close else "no_unit_like"
                detail = Detail(code, command.value, found.close)
                problems.append(Problem(command.line, "unknown_unit", detail))
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
    """Translate a proven staff reply into one `StaffUpdate`; any problem changes nothing."""
    text = quotes.reply_text(mail, signer_names=_names(member))
    parsed = parse(text, vocabulary(desk.config))
    problems = check(parsed, member, ticket) + unknown_units(session, desk, parsed)
    if problems:
        refuse(session, desk, ticket, member, problems, now=now)
        return
    try:
        with staff.update(session, desk, ticket, Actor.staff(member, Via.MAIL), now) as change:
            for command in parsed.commands:
                _APPLY[command.verb](change, command)
            body = parsed.body.strip()
            if parsed.is_note:
                note = body or _note_of(parsed.commands)
                if note or mail.attachments:
                    change.note(note, mail.attachments, inbound_id=inbound_id)
            elif body:
                change.answer(body, mail.attachments)
            elif mail.attachments:
                # Files sent with commands only (a closing photo) are kept, internal.
                change.note("", mail.attachments, inbound_id=inbound_id)
    except Refused as exc:
        detail = Detail(_REFUSED_DETAIL.get(exc.code, "as_said"), exc.detail)
        refuse(session, desk, ticket, member, [Problem("", exc.code, detail)], now=now)


# Refusals whose detail lists the valid choices.
_REFUSED_DETAIL = {"cause_required": "valid_are", "unknown_cause": "valid_are"}


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def open_from_mail(
    session: Session,
    desk: Desk,
    mail: ParsedMail,
    member: StaffConfig,
    *,
    now: datetime,
) -> Ticket | None:
    """`#abrir vecina@…` in a new mail: a ticket for that resident with the mail's words
    and files; None when the mail has no `#abrir`."""
    parsed = parse(quotes.reply_text(mail), vocabulary(desk.config))
    command = next((c for c in parsed.commands if c.verb is Verb.OPEN), None)
    if command is None:
        return None
    return opening.open_for_resident(
        session,
        desk,
        Actor.staff(member, Via.MAIL),
        requester=command.value,
        name="",
        subject=correlate.strip_reply_prefixes(mail.subject),
        text=parsed.body.strip() or command.note,
        channel=Channel.EMAIL,
        now=now,
        attachments=mail.attachments,
    )


def _names(member: StaffConfig) -> tuple[str, ...]:
    """How a staff member signs: full name and first name."""
    return (member.name, member.name.split(" ")[0]) if member.name else ()


def _note_of(commands: Sequence[Command]) -> str:
    return next((c.note for c in commands if c.verb is Verb.NOTE and c.note), "")


# Each command as the `StaffUpdate` call it means; `#nota` only marks the body internal.
_APPLY: Mapping[Verb, Callable[[staff.StaffUpdate, Command], object]] = MappingProxyType(
    {
        Verb.NOTE: lambda change, c: None,
        Verb.TAKE: lambda change, c: change.take(c.note),
        Verb.ASSIGN: lambda change, c: change.assign(c.value, c.note),
        Verb.PRIORITY: lambda change, c: change.set_priority(c.value),
        Verb.CATEGORY: lambda change, c: change.set_category(c.value),
        Verb.STATUS: lambda change, c: change.set_state(State(c.value), c.note, success=c.success),
        Verb.WAIT: lambda change, c: change.wait(c.note),
        Verb.RESOLVE: lambda change, c: change.resolve(c.note),
        Verb.CLOSE: lambda change, c: change.close(c.note, success=c.success),
        Verb.REOPEN: lambda change, c: change.reopen(c.note),
        Verb.VENDOR: lambda change, c: change.ask_vendor(c.value, c.note),
        Verb.OPEN: lambda change, c: change.open_for(c.value, c.note),
        Verb.UNIT: lambda change, c: change.set_unit(c.value),
        Verb.TYPE: lambda change, c: change.set_type(c.value),
        Verb.CAUSE: lambda change, c: change.set_cause(c.value),
        Verb.START: lambda change, c: change.set_starts_on(_day(c.value)),
        Verb.DEADLINE: lambda change, c: change.set_deadline(_day(c.value)),
        Verb.KB: lambda change, c: change.add_to_kb(),
    }
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
    recorded.commands_refused(
        session,
        desk,
        ticket,
        member,
        [(p.line, p.code, p.detail) for p in problems],
        problem_text=PROBLEM_TEXT[desk.language],
        command_help=COMMAND_HELP[desk.language],
        now=now,
    )
