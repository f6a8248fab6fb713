"""The ticket state machine, and what a resident's reply does to a ticket (pure).

No I/O and no clock: times are passed in. `tickets/changes.py` asks here before it changes
a ticket's state and records the change as an event.

States (`domain.State`): recibido → en_progreso → en_espera → validacion → cerrado.

Transitions (`apply`); every cell not listed raises `InvalidTransition`:

| action     | from                                         | to          |
|------------|----------------------------------------------|-------------|
| TAKE       | recibido                                     | en_progreso |
| TAKE       | en_progreso, en_espera                       | unchanged*  |
| ASSIGN     | as TAKE                                      | as TAKE     |
| START      | recibido, en_espera, validacion              | en_progreso |
| WAIT       | recibido, en_progreso                        | en_espera   |
| RESUME     | en_espera                                    | en_progreso |
| RESOLVE    | recibido, en_progreso, en_espera             | validacion  |
| CONFIRM    | validacion                                   | cerrado     |
| REJECT     | validacion                                   | en_progreso |
| CLOSE      | recibido, en_progreso, en_espera, validacion | cerrado     |
| REOPEN     | validacion, cerrado                          | en_progreso |
| AUTO_CLOSE | validacion                                   | cerrado     |

(*) Assignment alone does not resume a waiting ticket. Nothing leads back to
recibido, and a closed ticket accepts only REOPEN.

SLA clock (`clock_running`): runs in recibido and en_progreso, pauses in en_espera,
stops in validacion and cerrado (a reopened ticket starts it again).

A resident's reply (`resident_reply_effect`):

| state                                   | text                          | effect     |
|-----------------------------------------|-------------------------------|------------|
| recibido, en_progreso                   | anything                      | NONE       |
| en_espera                               | anything                      | RESUME     |
| validacion                              | a confirmation                | CONFIRM    |
| validacion                              | anything else                 | REOPEN     |
| cerrado, closed ≤ reopen_days ago       | a confirmation or a thank-you | NONE       |
| cerrado, closed ≤ reopen_days ago       | anything else                 | REOPEN     |
| cerrado, older, or closing time unknown | anything                      | NEW_TICKET |

NONE means the message is added to the ticket and its state stays; NEW_TICKET opens
a ticket that links the old one.

What counts as a confirmation or a thank-you is decided in `reply_intent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from maildesk.clock import as_utc
from maildesk.domain import State
from maildesk.tickets.reply_intent import is_confirmation, is_thanks

__all__ = [
    "Action",
    "InvalidTransition",
    "ResidentEffect",
    "action_towards",
    "allowed",
    "apply",
    "clock_running",
    "flow_step",
    "is_open",
    "resident_reply_effect",
]


class Action(StrEnum):
    """Something that may change a ticket's state."""

    TAKE = "take"
    ASSIGN = "assign"
    START = "start"
    WAIT = "wait"
    RESUME = "resume"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REJECT = "reject"
    CLOSE = "close"
    REOPEN = "reopen"
    AUTO_CLOSE = "auto_close"


class InvalidTransition(Exception):
    """`action` cannot be applied to a ticket in `state`; `reason` says why, in English."""

    def __init__(self, state: State, action: Action, reason: str) -> None:
        super().__init__(f"{action.value} from {state.value}: {reason}")
        self.state = state
        self.action = action
        self.reason = reason


_R, _P, _E, _V, _C = (
    State.RECIBIDO,
    State.EN_PROGRESO,
    State.EN_ESPERA,
    State.VALIDACION,
    State.CERRADO,
)
_OWNERSHIP: Mapping[State, State] = {_R: _P, _P: _P, _E: _E}

# action -> {from state: to state}; the table in the module docstring, as data.
_TRANSITIONS: Mapping[Action, Mapping[State, State]] = MappingProxyType(
    {
        Action.TAKE: _OWNERSHIP,
        Action.ASSIGN: _OWNERSHIP,
        Action.START: {_R: _P, _E: _P, _V: _P},
        Action.WAIT: {_R: _E, _P: _E},
        Action.RESUME: {_E: _P},
        Action.RESOLVE: {_R: _V, _P: _V, _E: _V},
        Action.CONFIRM: {_V: _C},
        Action.REJECT: {_V: _P},
        Action.CLOSE: {_R: _C, _P: _C, _E: _C, _V: _C},
        Action.REOPEN: {_V: _P, _C: _P},
        Action.AUTO_CLOSE: {_V: _C},
    }
)


def _reason(state: State, action: Action) -> str:
    if state is State.CERRADO:
        return "the ticket is closed; reopen it first"
    if action is Action.START and state is State.EN_PROGRESO:
        return "the ticket is already in progress"
    sources = ", ".join(s.value for s in State if s in _TRANSITIONS[action])
    return f"{action.value} applies only to tickets in: {sources}"


def apply(state: State, action: Action) -> State:
    """The state after `action`; raises `InvalidTransition` when it is not allowed."""
    target = _TRANSITIONS[action].get(state)
    if target is None:
        raise InvalidTransition(state, action, _reason(state, action))
    return target


def allowed(state: State) -> frozenset[Action]:
    """Every action that `apply` accepts in `state`."""
    return frozenset(a for a, table in _TRANSITIONS.items() if state in table)


def is_open(state: State) -> bool:
    """Anything but cerrado (validacion is still open: the resident may reject)."""
    return state is not State.CERRADO


# The states in the order a request passes through them (the module docstring's line).
FLOW: tuple[State, ...] = (_R, _P, _E, _V, _C)


def flow_step(state: State) -> tuple[int, int]:
    """(step, steps) of `state` in `FLOW`: a resident's "progress", never a percentage."""
    return FLOW.index(state) + 1, len(FLOW)


def clock_running(state: State) -> bool:
    """Whether SLA time counts: paused in en_espera, stopped in validacion and cerrado."""
    return state in (State.RECIBIDO, State.EN_PROGRESO)


def action_towards(state: State, target: State) -> Action | None:
    """The action a staff `#estado <target>` means for a ticket in `state`.

    None when the ticket is already in `target` (nothing to do). Raises
    `InvalidTransition` when no action leads there (nothing goes back to recibido).
    """
    if state is target:
        return None
    candidates: dict[State, tuple[Action, ...]] = {
        State.EN_PROGRESO: (Action.RESUME, Action.REOPEN, Action.START),
        State.EN_ESPERA: (Action.WAIT,),
        State.VALIDACION: (Action.RESOLVE,),
        State.CERRADO: (Action.CLOSE,),
    }
    actions = candidates.get(target, ())
    for action in actions:
        if _TRANSITIONS[action].get(state) is target:
            return action
    first = actions[0] if actions else Action.START
    reason = (
        f"no action leads back to {target.value}"
        if not actions
        else f"cannot go from {state.value} to {target.value}"
    )
    raise InvalidTransition(state, first, reason)


# --- the resident's reply ---------------------------------------------------------


class ResidentEffect(StrEnum):
    """What a resident's reply does to the ticket it belongs to."""

    NONE = "none"
    RESUME = "resume"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    NEW_TICKET = "new_ticket"


def resident_reply_effect(
    state: State,
    *,
    text: str,
    closed_at: datetime | None,
    now: datetime,
    reopen_days: int,
) -> ResidentEffect:
    """Decide what a resident's reply (already quote-stripped) does; see the module table.

    A naive `closed_at` or `now` (SQLite gives naive times back) is taken as UTC.
    """
    if state is State.EN_ESPERA:
        return ResidentEffect.RESUME
    if state is State.VALIDACION:
        return ResidentEffect.CONFIRM if is_confirmation(text) else ResidentEffect.REOPEN
    if state is State.CERRADO:
        if closed_at is None or as_utc(now) - as_utc(closed_at) > timedelta(days=reopen_days):
            return ResidentEffect.NEW_TICKET
        if is_confirmation(text) or is_thanks(text):
            return ResidentEffect.NONE
        return ResidentEffect.REOPEN
    return ResidentEffect.NONE
