"""What stops a staff mail from changing a ticket (maildesk.inbound.staffmail.check)."""

from __future__ import annotations

from maildesk.config import StaffConfig
from maildesk.inbound.commands import Detail, Vocabulary, explain, parse
from maildesk.inbound.staffmail import check
from maildesk.models import Ticket

VOCAB = Vocabulary(priorities=("alta", "media", "baja"), categories=(), teams=(), staff={})
ANA = StaffConfig(email="ana@example.org", name="Ana Pérez", role="agent", teams=("mantenimiento",))


def _ticket(state: str, team: str = "mantenimiento") -> Ticket:
    return Ticket(state=state, team=team, assignee=None)


def test_a_bad_command_alone_is_one_problem() -> None:
    """A reply of only a bad command and blank lines reports that command, not also an empty reply."""
    for text in ("#volar\n\n", "#prioridad\n \n"):
        problems = check(parse(text, VOCAB), ANA, _ticket("recibido"))
        assert len(problems) == 1, problems


def test_an_empty_reply_is_reported() -> None:
    """A reply with nothing in it changes nothing and says so."""
    [problem] = check(parse("\n\n", VOCAB), ANA, _ticket("recibido"))
    assert problem.detail == Detail("empty_reply")
    assert explain(problem.detail, "es") == "la respuesta está vacía"


def test_transition_and_role_details_are_worded_per_language() -> None:
    """Why a command cannot apply is worded in the desk's language, with its state words."""
    [closed] = check(parse("#espera", VOCAB), ANA, _ticket("cerrado"))
    assert (
        explain(closed.detail, "es") == "la solicitud está cerrada; primero reábrela con #reabrir"
    )
    [wait] = check(parse("#espera", VOCAB), ANA, _ticket("validacion"))
    assert explain(wait.detail, "es") == "solo se puede en estos estados: recibido, en progreso"
    assert explain(wait.detail, "en") == "only possible in these states: received, in progress"
    [back] = check(parse("#estado recibido", VOCAB), ANA, _ticket("en_progreso"))
    assert explain(back.detail, "es") == "no se puede pasar de en progreso a recibido"
    [role] = check(parse("#tomar", VOCAB), ANA, _ticket("recibido", team="recepción"))
    assert explain(role.detail, "es") == "tu rol es agente y la solicitud es del equipo recepción"
    assert (
        explain(role.detail, "en")
        == "your role is agent and the request belongs to team front desk"
    )
