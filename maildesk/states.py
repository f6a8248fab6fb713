"""The ticket state machine, and what a resident's reply does to a ticket (pure).

No I/O and no clock: times are passed in. `tickets.py` asks here before it changes
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

`is_confirmation` is deliberately conservative: only the first meaningful line may
confirm, every word of it must be a known confirming phrase (or thanks), and any
negation or complaint in the first lines cancels it. When in doubt the ticket
reopens and a human looks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from maildesk.domain import State

__all__ = [
    "Action",
    "InvalidTransition",
    "ResidentEffect",
    "action_towards",
    "allowed",
    "apply",
    "clock_running",
    "is_confirmation",
    "is_open",
    "is_rejection",
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
        if closed_at is None or _utc(now) - _utc(closed_at) > timedelta(days=reopen_days):
            return ResidentEffect.NEW_TICKET
        if is_confirmation(text) or _is_thanks(text):
            return ResidentEffect.NONE
        return ResidentEffect.REOPEN
    return ResidentEffect.NONE


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _phrases(text: str) -> frozenset[str]:
    """A comma-separated vocabulary, one topic a line; `#` lines are comments."""
    lines = (line.strip() for line in text.splitlines())
    listed = (p.strip() for line in lines if not line.startswith("#") for p in line.split(","))
    return frozenset(p for p in listed if p)


# Words are compared folded: lower case, no accents, "’" as "'".
_CONFIRMING = _phrases(
    """
    # Spanish
    si, sip, ok, okay, okey, vale, listo, perfecto, excelente, genial, correcto
    resuelto, solucionado, arreglado, reparado, ya esta, ya quedo
    ya esta resuelto, ya esta solucionado, ya esta arreglado
    quedo resuelto, quedo solucionado, quedo arreglado
    funciona, ya funciona, funciona bien, ya funciona bien, funciona perfecto, ahora funciona
    todo bien, todo ok, todo correcto, todo en orden
    confirmo, confirmado, de acuerdo, conforme, estoy conforme
    # English
    yes, yep, great, perfect, fixed, all fixed, resolved, solved, confirmed, i confirm
    works, it works, it works now, works now, working, it's working, it is working
    all good, looks good
    👍
    """
)
# May accompany a confirmation on the same line, but never confirm on their own.
_POLITE = _phrases(
    """
    gracias, muchas gracias, mil gracias, muchisimas gracias, gracias a todos, por favor
    saludos, un saludo, slds, atte, hola, buenas, buenos dias, buenas tardes, buenas noches
    no hay problema, no problem, no worries
    thanks, thank you, thanks a lot, many thanks, thank you very much, thx, please
    regards, cheers, hi, hello
    🙏, 🙂, 😊, 😀, 😃
    """
)
# Harmless phrases that contain a negative word; removed before looking for negatives.
_BENIGN = ("no hay problema", "no hay de que", "no problem", "no worries", "ningun problema")
# Any of these in the first lines cancels a confirmation (deliberately broad).
_NEGATIVE_WORDS = _phrases(
    """
    no, not, nunca, never, nada, nothing, ni, tampoco, yet, cannot
    doesnt, dont, isnt, didnt
    sigue, siguen, seguimos, sigo, todavia, aun, still
    pero, but, aunque, although, however
    again, volvio, vuelve, volvieron
    mal, peor, worse, wrong, error, falla, fallando, fallo, roto, rota, broken
    gotea, goteando, leaking, leak
    rechazo, reject, inconforme, insatisfecho, unhappy, 👎
    """
)
_NEGATIVE_PHRASES = ("sin embargo", "otra vez", "de nuevo")
# The explicit "no, it is not solved" set: the reject signal.
_REJECTING = _phrases(
    """
    no funciona, no anda, no sirve, no quedo, no resuelto, no solucionado
    no esta resuelto, no esta solucionado, no esta arreglado, no se ha resuelto, no se resolvio
    no estoy conforme, no estoy satisfecho, rechazo, inconforme, insatisfecho
    sigue, siguen, sigue igual, siguen igual, sigue mal, sigue fallando, sigue sin
    todavia, todavia no, aun no, otra vez, de nuevo, volvio a, nunca vinieron, nadie vino
    not fixed, not working, not resolved, not solved, not happy, not yet, still, broken, again
    doesn't work, does not work, didn't work, did not work, isn't fixed, is not fixed
    reject, unhappy, 👎
    """
)
_BUT = frozenset({"pero", "but", "aunque", "although", "however"})
_GREETING = re.compile(
    r"^(hola|buen[oa]s?(\s+(dias|tardes|noches))?|estimad[oa]s?|senor(es|a)?|hi|hello|hey|"
    r"dear|good\s+(morning|afternoon|evening))\b[^?¿]{0,40}$"
)
_SIGNATURE = re.compile(r"^(--|__|—)\s*$")
_EMOJI_TOKENS = "👍👎🙏🙂😊😀😃"
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[" + _EMOJI_TOKENS + "]")
_HEAD_LINES = 3
_MAX_LINE = 1000
_MAX_PHRASE = 4


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    kept = (c for c in decomposed if not unicodedata.combining(c))
    # Skin-tone modifiers would split the thumbs-up from itself.
    return "".join(c for c in kept if not "\U0001f3fb" <= c <= "\U0001f3ff")


def _head(text: str) -> list[str]:
    """The folded non-blank lines up to a signature, without an opening greeting line.

    "Hola Juan," on a line of its own is dropped; "Hola, ya funciona" is kept, since
    it says something.
    """
    lines: list[str] = []
    for raw in text.splitlines():
        # Only the opening lines matter; long ones are cut so hostile text stays cheap.
        line = _fold(raw[:_MAX_LINE]).strip()
        if _SIGNATURE.match(line):
            break
        if line:
            lines.append(line)
        if len(lines) > _HEAD_LINES:
            break
    if (
        lines
        and _GREETING.match(lines[0])
        and not _segments(_tokens(lines[0]), need_confirming=True)
    ):
        lines = lines[1:]
    return lines


def _is_question(line: str) -> bool:
    return "?" in line or "¿" in line


def _tokens(line: str) -> list[str]:
    return _TOKEN.findall(line)


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(list(tokens[i : i + n]) == list(phrase) for i in range(len(tokens) - n + 1))


def _without_benign(line: str) -> str:
    for phrase in _BENIGN:
        line = re.sub(rf"(?<!\w){re.escape(phrase)}(?!\w)", " ", line)
    return line


def _segments(tokens: Sequence[str], *, need_confirming: bool) -> bool:
    """Whether `tokens` split wholly into known phrases, at least one confirming if asked."""
    # reach[i] is None when position i cannot be reached, else whether a confirming
    # phrase was seen on some way there.
    reach: list[bool | None] = [None] * (len(tokens) + 1)
    reach[0] = False
    for i in range(len(tokens)):
        seen = reach[i]
        if seen is None:
            continue
        for n in range(1, min(_MAX_PHRASE, len(tokens) - i) + 1):
            phrase = " ".join(tokens[i : i + n])
            value = True if phrase in _CONFIRMING else seen if phrase in _POLITE else None
            if value is not None:
                current = reach[i + n]
                reach[i + n] = value if current is None else current or value
    end = reach[len(tokens)]
    return end is True if need_confirming else end is not None


def _has_negative(lines: Sequence[str]) -> bool:
    for line in lines:
        cleaned = _without_benign(line)
        tokens = _tokens(cleaned)
        if any(t in _NEGATIVE_WORDS or t.endswith("n't") for t in tokens):
            return True
        if any(_contains(tokens, p.split()) for p in _NEGATIVE_PHRASES):
            return True
    return False


def is_confirmation(text: str) -> bool:
    """Whether a resident's reply confirms the resolution (Spanish or English).

    The first meaningful line must consist only of confirming phrases and thanks
    ("Sí, gracias", "Ya funciona 👍", "Thanks, all good"), without a question mark;
    and no negation or complaint may appear in the first three lines ("sí, pero
    sigue goteando", "ok\\ntodavía no"). Anything else is not a confirmation.
    """
    lines = _head(text)
    if not lines or _is_question(lines[0]):
        return False
    if _has_negative(lines[:_HEAD_LINES]):
        return False
    return _segments(_tokens(lines[0]), need_confirming=True)


def is_rejection(text: str) -> bool:
    """Whether a reply says explicitly that the problem is not solved, or is unhappy.

    Looks at the first three meaningful lines for the explicit negative set
    ("no", "no funciona", "sigue igual", "todavía no", "not fixed", "still
    broken", 👎) and for "pero"/"but" followed by more words ("sí, pero …").
    """
    lines = _head(text)[:_HEAD_LINES]
    for index, line in enumerate(lines):
        tokens = _tokens(_without_benign(line))
        if index == 0 and tokens[:1] == ["no"]:
            return True
        if any(_contains(tokens, p.split()) for p in _REJECTING):
            return True
        for i, token in enumerate(tokens):
            if token in _BUT and i + 1 < len(tokens):
                return True
    return False


def _is_thanks(text: str) -> bool:
    """A bare thank-you ("¡Muchas gracias!"): not a confirmation, not a complaint."""
    lines = _head(text)
    if not lines or _is_question(lines[0]) or _has_negative(lines[:_HEAD_LINES]):
        return False
    tokens = _tokens(lines[0])
    return bool(tokens) and _segments(tokens, need_confirming=False)
