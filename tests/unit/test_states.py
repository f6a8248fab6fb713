"""The ticket state machine and what a resident's reply does (maildesk.tickets.states)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maildesk.domain import State
from maildesk.labels import progress_label
from maildesk.tickets.reply_intent import is_confirmation, is_rejection
from maildesk.tickets.states import (
    Action,
    InvalidTransition,
    ResidentEffect,
    action_towards,
    allowed,
    apply,
    clock_running,
    flow_step,
    is_open,
    resident_reply_effect,
)

R, P, E, V, C = (
    State.RECIBIDO,
    State.EN_PROGRESO,
    State.EN_ESPERA,
    State.VALIDACION,
    State.CERRADO,
)

# The whole table, written out independently of the module: (action, from) -> to.
VALID: dict[tuple[Action, State], State] = {
    (Action.TAKE, R): P,
    (Action.TAKE, P): P,
    (Action.TAKE, E): E,
    (Action.ASSIGN, R): P,
    (Action.ASSIGN, P): P,
    (Action.ASSIGN, E): E,
    (Action.START, R): P,
    (Action.START, E): P,
    (Action.START, V): P,
    (Action.WAIT, R): E,
    (Action.WAIT, P): E,
    (Action.RESUME, E): P,
    (Action.RESOLVE, R): V,
    (Action.RESOLVE, P): V,
    (Action.RESOLVE, E): V,
    (Action.CONFIRM, V): C,
    (Action.REJECT, V): P,
    (Action.CLOSE, R): C,
    (Action.CLOSE, P): C,
    (Action.CLOSE, E): C,
    (Action.CLOSE, V): C,
    (Action.REOPEN, V): P,
    (Action.REOPEN, C): P,
    (Action.AUTO_CLOSE, V): C,
}
EVERY_CELL = [(action, state) for action in Action for state in State]


@pytest.mark.parametrize(("action", "state"), EVERY_CELL, ids=lambda x: str(x))
def test_every_state_and_action(action: Action, state: State) -> None:
    """Each (state, action) either moves to the table's state or raises InvalidTransition."""
    expected = VALID.get((action, state))
    if expected is not None:
        assert apply(state, action) is expected
        return
    with pytest.raises(InvalidTransition) as caught:
        apply(state, action)
    assert caught.value.state is state
    assert caught.value.action is action
    assert caught.value.reason
    assert state.value in str(caught.value)


def test_every_action_is_usable_and_recibido_is_only_a_start() -> None:
    """Every action applies from some state, and every state but recibido can be reached."""
    assert set().union(*(allowed(s) for s in State)) == set(Action)
    reached = {apply(s, a) for s in State for a in allowed(s)}
    assert reached == {P, E, V, C}


@pytest.mark.parametrize("state", list(State))
def test_allowed_matches_apply(state: State) -> None:
    """allowed(state) lists exactly the actions the table accepts from that state."""
    assert allowed(state) == frozenset(a for (a, s) in VALID if s is state)


def test_closed_ticket_only_reopens() -> None:
    """A closed ticket accepts nothing but REOPEN, and says to reopen it first."""
    assert allowed(C) == frozenset({Action.REOPEN})
    with pytest.raises(InvalidTransition, match="reopen"):
        apply(C, Action.CLOSE)


@pytest.mark.parametrize(
    ("state", "open_", "running"),
    [(R, True, True), (P, True, True), (E, True, False), (V, True, False), (C, False, False)],
)
def test_open_and_sla_clock(state: State, open_: bool, running: bool) -> None:
    """Only cerrado is closed; the SLA clock runs only in recibido and en progreso."""
    assert is_open(state) is open_
    assert clock_running(state) is running


@pytest.mark.parametrize(
    ("state", "target", "action"),
    [
        (R, P, Action.START),
        (E, P, Action.RESUME),
        (V, P, Action.REOPEN),
        (C, P, Action.REOPEN),
        (R, E, Action.WAIT),
        (P, E, Action.WAIT),
        (P, V, Action.RESOLVE),
        (E, V, Action.RESOLVE),
        (R, C, Action.CLOSE),
        (V, C, Action.CLOSE),
        (P, P, None),
        (C, C, None),
    ],
)
def test_action_towards(state: State, target: State, action: Action | None) -> None:
    """`#estado <target>` maps to the action that gets there (None when already there)."""
    assert action_towards(state, target) is action
    if action is not None:
        assert apply(state, action) is target


@pytest.mark.parametrize(("state", "target"), [(P, R), (C, R), (C, E), (C, V), (V, E)])
def test_action_towards_unreachable(state: State, target: State) -> None:
    """No action leads back to recibido, and a closed ticket must be reopened first."""
    with pytest.raises(InvalidTransition):
        action_towards(state, target)


NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "text", "closed_days_ago", "effect"),
    [
        (R, "Les mando otra foto", None, ResidentEffect.NONE),
        (P, "¿Cuándo vienen?", None, ResidentEffect.NONE),
        (E, "Sí, el martes a las 10 está bien", None, ResidentEffect.RESUME),
        (E, "No", None, ResidentEffect.RESUME),
        (V, "Sí, ya funciona, gracias", None, ResidentEffect.CONFIRM),
        (V, "👍", None, ResidentEffect.CONFIRM),
        (V, "Sí, pero sigue goteando", None, ResidentEffect.REOPEN),
        (V, "¿Y la llave del baño?", None, ResidentEffect.REOPEN),
        (V, "", None, ResidentEffect.REOPEN),
        (C, "Volvió a gotear", 3, ResidentEffect.REOPEN),
        (C, "Volvió a gotear", 7, ResidentEffect.REOPEN),
        (C, "Volvió a gotear", 8, ResidentEffect.NEW_TICKET),
        (C, "Volvió a gotear", None, ResidentEffect.NEW_TICKET),
        (C, "¡Muchas gracias!", 2, ResidentEffect.NONE),
        (C, "Confirmo, todo bien", 2, ResidentEffect.NONE),
        (C, "Gracias, pero no vinieron", 2, ResidentEffect.REOPEN),
        (C, "Muchas gracias", 30, ResidentEffect.NEW_TICKET),
    ],
)
def test_resident_reply_effect(
    state: State, text: str, closed_days_ago: int | None, effect: ResidentEffect
) -> None:
    """A resident's reply resumes, confirms, reopens, opens a new ticket or just adds a message."""
    closed_at = None if closed_days_ago is None else NOW - timedelta(days=closed_days_ago)
    got = resident_reply_effect(state, text=text, closed_at=closed_at, now=NOW, reopen_days=7)
    assert got is effect


def test_reopen_window_boundary_is_inclusive() -> None:
    """A reply exactly reopen_days after closing still reopens; a second later it does not."""
    closed_at = NOW - timedelta(days=7)

    def effect(now: datetime) -> ResidentEffect:
        return resident_reply_effect(
            C, text="sigue igual", closed_at=closed_at, now=now, reopen_days=7
        )

    assert effect(NOW) is ResidentEffect.REOPEN
    assert effect(NOW + timedelta(seconds=1)) is ResidentEffect.NEW_TICKET


def test_naive_closing_time_is_utc() -> None:
    """A naive closed_at (as SQLite returns it) is compared as UTC, not a TypeError."""
    naive = (NOW - timedelta(days=2)).replace(tzinfo=None)
    got = resident_reply_effect(C, text="sigue igual", closed_at=naive, now=NOW, reopen_days=7)
    assert got is ResidentEffect.REOPEN
    old = (NOW - timedelta(days=9)).replace(tzinfo=None)
    got = resident_reply_effect(C, text="sigue igual", closed_at=old, now=NOW, reopen_days=7)
    assert got is ResidentEffect.NEW_TICKET


CONFIRMATIONS = [
    # Spanish first
    "sí",
    "Si",
    "SÍ.",
    "ok",
    "Okay",
    "listo",
    "Listo!",
    "resuelto",
    "Solucionado",
    "funciona",
    "Ya funciona",
    "ya funciona!!",
    "Gracias, ya funciona",
    "gracias ya funciona",
    "Todo bien",
    "confirmo",
    "Confirmo.",
    "De acuerdo",
    "Perfecto",
    "¡Perfecto, muchas gracias!",
    "Sí, gracias.\n\nSaludos,\nAna Pérez\nDepto 402",
    "Hola,\nsí, ya funciona",
    "Hola, ya funciona",
    "Buenos días:\n\nTodo bien, gracias 🙏",
    "Ok, no hay problema",
    "Quedó arreglado",
    "Sí, está resuelto, muchas gracias.",
    # English
    "yes",
    "Fixed",
    "works",
    "It works now",
    "confirmed",
    "Thanks, all good",
    "Thank you! It works now.",
    "Hi,\nYes, fixed. Thanks",
    # The thumbs-up, with and without a skin tone
    "👍",
    "👍🏽",
    "👍👍",
]

REJECTIONS = [
    "no",
    "No.",
    "No funciona",
    "no funciona!!",
    "Sigue igual",
    "todavía no",
    "Todavia no",
    "Aún no",
    "aun no",
    "No está resuelto",
    "no esta resuelto",
    "Sí, pero sigue goteando",
    "si pero sigue goteando",
    "Sí\nPero sigue goteando",
    "Ok, aunque el técnico no vino",
    "Gracias, pero nadie vino",
    "Volvió a pasar otra vez",
    "De nuevo sin agua caliente",
    "Hola,\nno, sigue igual",
    "Listo\ntodavía gotea",
    "not fixed",
    "Still broken",
    "It doesn't work",
    "yes but it is still leaking",
    "Not working again",
    "👎",
]

NEITHER = [
    "gracias",
    "Muchas gracias",
    "¿Ya funciona?",
    "¿sí?",
    "Ok?",
    "Les mando una foto del medidor",
    "Hola Juan,",
    "Mañana reviso y les aviso",
    "",
    "   \n\n  ",
]


@pytest.mark.parametrize("text", CONFIRMATIONS)
def test_confirmations(text: str) -> None:
    """Plain confirmations in Spanish and English, with thanks, greetings and signatures, confirm."""
    assert is_confirmation(text)
    assert not is_rejection(text)


@pytest.mark.parametrize("text", REJECTIONS)
def test_rejections(text: str) -> None:
    """Negated or unhappy replies never confirm and are flagged as rejections."""
    assert not is_confirmation(text)
    assert is_rejection(text)


@pytest.mark.parametrize("text", NEITHER)
def test_neither_confirmation_nor_rejection(text: str) -> None:
    """Bare thanks, questions and unrelated text neither confirm (a human looks) nor reject."""
    assert not is_confirmation(text)
    assert not is_rejection(text)


@pytest.mark.parametrize(
    "text",
    [
        "Sí, ya quedó. Por cierto el ascensor no funciona",
        "ok\nok\npero falta la pintura",
        "Hola Ana, ya funciona",
        "Funciona a medias",
        "yes, sort of",
        "Sí -- Ana",
    ],
)
def test_conservative_when_in_doubt(text: str) -> None:
    """Anything beyond known confirming words, or a complaint in the first lines, is not a confirmation."""
    assert not is_confirmation(text)


def test_only_first_lines_count() -> None:
    """A complaint far below a confirmation (past the first three lines) does not cancel it."""
    text = "Sí, gracias\n\nSaludos\nAna\nDepto 402\nPD: el otro año no funcionaba"
    assert is_confirmation(text)
    assert not is_confirmation("Sí, gracias\nPD: el otro año no funcionaba")


def test_progress_is_the_position_in_the_flow_in_words() -> None:
    """Progress is the state's step in the flow, written out, in both languages."""
    assert [flow_step(s) for s in State] == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert progress_label("recibido", "es") == "paso 1 de 5: recibido"
    assert progress_label("en_progreso", "es") == "paso 2 de 5: en progreso"
    assert progress_label("validacion", "es") == "paso 4 de 5: validación"
    assert progress_label("cerrado", "en") == "step 5 of 5: closed"
