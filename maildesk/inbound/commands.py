"""Reads the `#commands` at the top of a staff reply (pure).

The manual of the staff mail interface:

- Commands are lines at the top of a reply that start with `#` and a letter.
  Blank lines (also lines holding only invisible marks such as a zero-width
  space) may come before and between them; the first other line starts the
  body, and a `#` line after that is plain text. `#1234` (a digit after `#`) is
  never a command: it starts the body.
- Words are Spanish or English, in any case, with or without accents
  (`#Categoría` = `#categoria` = `#category`). An argument may follow the word
  after a space or a colon (`#nota: llamé al conserje`).
- `#nota`/`#note [texto]`: the whole reply (the rest of that line plus the body)
  is an internal note, never sent to the resident.
- `#tomar`/`#take [posesión]`: assign the ticket to the sender.
- `#asignar`/`#assign <email | name | team>`: a staff address, a staff name (the
  whole name, or any part of it that names one person), or a team. `value` is the
  staff email (it contains "@") or the team name.
- `#prioridad`/`#priority <name>`: the configured names, plus high/medium/low for
  alta/media/baja when those are configured.
- `#categoria`/`#category <name>`: a configured category; `value` is its spelling
  in the configuration.
- `#estado`/`#status <state> [note]`: `value` is a `domain.State` value. cerrado
  and validación need a note, as `#cerrar` and `#resuelto` do; cerrado takes the
  same sin-éxito words as `#cerrar`.
- `#espera`/`#wait [reason]`, `#reabrir`/`#reopen [reason]`.
- `#resuelto`/`#resolve <note>`: to validación; the resident is asked to confirm.
- `#cerrar`/`#close <note>`: closed con éxito; `#cerrar sin-éxito <reason>`
  (also `sin éxito`, `#close unsuccessful`, `#close failed`): closed sin éxito.
- `#unidad`/`#unit <unit>`: the directory's unit of the request ("402", "B 402",
  "torre Ñandú depto 402", "bodega 12"); `value` is the text as written, which the
  caller looks up in the directory (an unknown unit is refused with the closest ones).
- `#proveedor`/`#vendor <address> [message]`: `value` is the vendor's address,
  `note` the message.
- `#abrir`/`#open <resident address> ["Name"]`: open a ticket for a resident (the
  mail's subject and body are the request); `value` is the address, `note` the name.
- `#tipo`/`#type <type>`, `#causa`/`#cause <cause>`: a configured request type or final
  cause, by slug or name; `value` is the slug (`ninguno`/`none` clears it: "").
- `#kb` (also `#conocimiento`/`#knowledge`): the closed ticket (closed by this reply or
  before) becomes a knowledge-base article: its subject and the closing reply's text.
- `#inicio`/`#start <date>`, `#plazo`/`#deadline <date>`: `2026-12-05` or `5/12/2026`;
  `value` is the ISO date (`ninguno`/`none` clears it: "").

A required note (close, resolve, estado cerrado/validación) may be written on the
command line or, when the line has none, is the body; the body still goes to the
resident unless the reply is a `#nota`. Problems are reported, never raised, each
with a `Detail` (a code and the words involved) that `explain` words in the desk's
language; the caller answers the sender and changes nothing when there are any. Roles are not
checked here: the caller knows who may do what.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from maildesk import labels
from maildesk.domain import State
from maildesk.records import CLEAR_WORDS, parse_day
from maildesk.tickets import states

__all__ = [
    "COMMAND_HELP",
    "COMMAND_HELP_INTRO",
    "DETAIL_TEXT",
    "PROBLEM_TEXT",
    "Command",
    "Detail",
    "Parsed",
    "Problem",
    "Verb",
    "Vocabulary",
    "explain",
    "parse",
    "transition_detail",
]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The configured names commands may use: plain values, so this module stays pure."""

    priorities: tuple[str, ...]
    categories: tuple[str, ...]
    teams: tuple[str, ...]
    staff: Mapping[str, str]  # email -> display name
    types: Mapping[str, str] = field(default_factory=dict)  # folded name -> slug
    causes: Mapping[str, str] = field(default_factory=dict)  # folded name -> slug


class Verb(StrEnum):
    NOTE = "note"
    TAKE = "take"
    ASSIGN = "assign"
    PRIORITY = "priority"
    CATEGORY = "category"
    STATUS = "status"
    WAIT = "wait"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    VENDOR = "vendor"
    OPEN = "open"
    UNIT = "unit"
    TYPE = "type"
    CAUSE = "cause"
    START = "start"
    DEADLINE = "deadline"
    KB = "kb"


@dataclass(frozen=True, slots=True)
class Command:
    """One understood command; `value` is canonical, `line` is the line as written."""

    verb: Verb
    value: str = ""
    note: str = ""
    success: bool = True
    line: str = ""


@dataclass(frozen=True, slots=True)
class Detail:
    """What exactly was wrong, as a code and the words involved, so each language words it.

    `given` is what the sender wrote (or a state, a role); `options` what would
    have been valid. `explain` turns it into a sentence in the desk's language.
    """

    code: str
    given: str = ""
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """A command line that was not understood, or that contradicts another one."""

    line: str
    code: str
    detail: Detail | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """The commands of a reply, what was wrong with them, and the rest of the text."""

    commands: tuple[Command, ...]
    problems: tuple[Problem, ...]
    body: str

    @property
    def only_commands(self) -> bool:
        """Nothing but commands: nothing is sent to the resident."""
        return not self.body.strip()

    @property
    def is_note(self) -> bool:
        """The reply is an internal note (`#nota`): nothing is sent to the resident."""
        return any(c.verb is Verb.NOTE for c in self.commands)


PROBLEM_CODES = (
    "unknown_command",
    "missing_argument",
    "unknown_priority",
    "unknown_category",
    "unknown_state",
    "unknown_assignee",
    "bad_address",
    "note_required",
    "conflict",
    "unknown_type",
    "unknown_cause",
    "bad_date",
)

# Codes the caller adds after checking the sender's role, the state machine and the
# closing rules (`tickets.staff`).
CHECK_CODES = (
    "forbidden",
    "invalid_transition",
    "cause_required",
    "evidence_note",
    "evidence_attachment",
    "unknown_channel",
    "unknown_unit",
    "kb_not_closed",
)

# Each verb's words, folded (lower case, no accents, words only).
_VERBS: Mapping[str, Verb] = MappingProxyType(
    {
        word: verb
        for verb, words in {
            Verb.NOTE: ("nota", "note"),
            Verb.TAKE: ("tomar", "take"),
            Verb.ASSIGN: ("asignar", "assign"),
            Verb.PRIORITY: ("prioridad", "priority"),
            Verb.CATEGORY: ("categoria", "category"),
            Verb.STATUS: ("estado", "status"),
            Verb.WAIT: ("espera", "wait"),
            Verb.RESOLVE: ("resuelto", "resolve"),
            Verb.CLOSE: ("cerrar", "close"),
            Verb.REOPEN: ("reabrir", "reopen"),
            Verb.VENDOR: ("proveedor", "vendor"),
            Verb.OPEN: ("abrir", "open"),
            Verb.UNIT: ("unidad", "unit"),
            Verb.TYPE: ("tipo", "type"),
            Verb.CAUSE: ("causa", "cause"),
            Verb.START: ("inicio", "start"),
            Verb.DEADLINE: ("plazo", "deadline"),
            Verb.KB: ("kb", "conocimiento", "knowledge"),
        }.items()
        for word in words
    }
)
# Each state's names after `#estado`: every word people read for it (labels.STATE_NAMES).
_STATES: Mapping[str, State] = labels.STATE_NAMES
# The first words of a close note that say how it ended (seeds: finalizada con/sin éxito).
_OUTCOMES: Mapping[str, bool] = MappingProxyType(
    {
        "sin exito": False,
        "sinexito": False,
        "no exitoso": False,
        "unsuccessful": False,
        "unsuccessfully": False,
        "failed": False,
        "con exito": True,
        "successful": True,
        "successfully": True,
    }
)
_PRIORITY_ALIASES: Mapping[str, str] = MappingProxyType(
    {"high": "alta", "medium": "media", "low": "baja"}
)
_NEEDS_NOTE = frozenset({State.CERRADO, State.VALIDACION})
_TAKE_FILLER = frozenset({"posesion", "ownership"})
_ASSIGN_FILLER = frozenset({"a", "al", "to"})
_MAX_WORDS = 6

_COMMAND = re.compile(r"#(?P<word>[^\W\d_][\w-]*)(?P<rest>.*)", re.DOTALL)
_SEPARATOR = re.compile(r"^\s*[:;,.\-–—]*\s*")
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_BRACKETED = re.compile(r"<([^<>]*)>")


_key = labels.key


def _split(rest: str, n: int) -> tuple[str, str]:
    """The first `n` words of `rest` and what follows them, spacing kept."""
    parts = rest.split(maxsplit=n)
    return " ".join(parts[:n]), parts[n].strip() if len(parts) > n else ""


def _longest(rest: str, table: Mapping[str, str]) -> tuple[str, str] | None:
    """The longest opening of `rest` that names a key of `table`: (value, the rest)."""
    for n in range(min(_MAX_WORDS, len(rest.split())), 0, -1):
        head, tail = _split(rest, n)
        found = table.get(_key(head))
        if found is not None:
            return found, tail
    return None


def _outcome(rest: str) -> tuple[bool, str]:
    """Whether a close note says con/sin éxito first, and the note without those words."""
    for n in (2, 1):
        head, tail = _split(rest, n)
        outcome = _OUTCOMES.get(_key(head)) if len(rest.split()) >= n else None
        if outcome is not None:
            return outcome, _SEPARATOR.sub("", tail, count=1)
    return True, rest


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)


@dataclass(frozen=True, slots=True)
class _Line:
    verb: Verb
    rest: str
    line: str
    body: str
    vocabulary: Vocabulary

    def problem(self, code: str, detail: Detail) -> Problem:
        return Problem(self.line, code, detail)

    def command(self, value: str = "", note: str = "", success: bool = True) -> Command:
        return Command(self.verb, value, note, success, self.line)

    def note_or_body(self, note: str) -> str:
        return note if _has_words(note) else self.body.strip()


_Outcome = Command | Problem


def _take(cmd: _Line) -> _Outcome:
    head, tail = _split(cmd.rest, 1)
    return cmd.command(note=tail if _key(head) in _TAKE_FILLER else cmd.rest)


def _note_required(cmd: _Line, value: str = "", note: str = "", success: bool = True) -> _Outcome:
    note = cmd.note_or_body(note)
    if not note:
        return cmd.problem("note_required", Detail("note_needed"))
    return cmd.command(value, note, success)


def _priority(cmd: _Line) -> _Outcome:
    if not cmd.rest:
        return cmd.problem("missing_argument", Detail("which_priority"))
    known = {_key(p): p for p in cmd.vocabulary.priorities}
    for alias, name in _PRIORITY_ALIASES.items():
        if name in known:
            known.setdefault(alias, known[name])
    found = _longest(cmd.rest, known)
    if found is None:
        options = cmd.vocabulary.priorities
        return cmd.problem("unknown_priority", Detail("not_priority", cmd.rest, options))
    return cmd.command(*found)


def _category(cmd: _Line) -> _Outcome:
    if not cmd.rest:
        return cmd.problem("missing_argument", Detail("which_category"))
    found = _longest(cmd.rest, {_key(c): c for c in cmd.vocabulary.categories})
    if found is None:
        options = cmd.vocabulary.categories
        return cmd.problem("unknown_category", Detail("not_category", cmd.rest, options))
    return cmd.command(*found)


def _status(cmd: _Line) -> _Outcome:
    if not cmd.rest:
        return cmd.problem("missing_argument", Detail("which_state"))
    found = _longest(cmd.rest, {k: s.value for k, s in _STATES.items()})
    if found is None:
        options = tuple(s.value for s in State)
        return cmd.problem("unknown_state", Detail("not_state", cmd.rest, options))
    value, note = found
    success = True
    if value == State.CERRADO:
        success, note = _outcome(note)
    if State(value) in _NEEDS_NOTE:
        return _note_required(cmd, value, note, success)
    return cmd.command(value, note)


def _close(cmd: _Line) -> _Outcome:
    success, note = _outcome(cmd.rest)
    return _note_required(cmd, note=note, success=success)


def _unit(cmd: _Line) -> _Outcome:
    if not cmd.rest:
        return cmd.problem("missing_argument", Detail("which_unit"))
    return cmd.command(cmd.rest)


def _choice(cmd: _Line, table: Mapping[str, str], code: str, which: str) -> _Outcome:
    """A configured type or cause by any of its names; a clearing word gives ""."""
    if not cmd.rest:
        return cmd.problem("missing_argument", Detail(which))
    if _key(cmd.rest) in CLEAR_WORDS:
        return cmd.command("")
    found = _longest(cmd.rest, table)
    if found is None:
        options = tuple(sorted(set(table.values())))
        return cmd.problem(code, Detail("not_one_of", cmd.rest, options))
    return cmd.command(*found)


def _day(cmd: _Line) -> _Outcome:
    if not cmd.rest:
        return cmd.problem("missing_argument", Detail("which_date"))
    head, tail = _split(cmd.rest, 1)
    if _key(head) in CLEAR_WORDS:
        return cmd.command("", tail)
    try:
        return cmd.command(parse_day(head).isoformat(), tail)
    except ValueError:
        return cmd.problem("bad_date", Detail("not_date", head))


def _find_address(rest: str) -> tuple[str, str, str] | None:
    """(address, text before it, text after it), or None when no word has an "@"."""
    bracketed = _BRACKETED.search(rest)
    if bracketed:
        return bracketed.group(1).strip(), rest[: bracketed.start()], rest[bracketed.end() :]
    match = re.search(r"\S*@\S*", rest)
    if match is None:
        return None
    return match.group(0), rest[: match.start()], rest[match.end() :]


def _clean_address(raw: str) -> str | None:
    address = raw.strip().strip("<>\"',;.")
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    return address.lower() if _ADDRESS.fullmatch(address) else None


def _address_command(cmd: _Line, *, name_first: bool) -> _Outcome:
    if not cmd.rest:
        return cmd.problem("missing_argument", Detail("which_address"))
    found = _find_address(cmd.rest)
    address = _clean_address(found[0]) if found else None
    if found is None or address is None:
        return cmd.problem("bad_address", Detail("no_address", cmd.rest))
    _, before, after = found
    if name_first:  # #abrir: the name may come before or after the address
        name = (before.strip() or after.strip()).strip("\"'“”«» ,")
        return cmd.command(address, name)
    return cmd.command(address, after.strip().lstrip(":,- "))


def _assignee(cmd: _Line) -> _Outcome:
    rest = cmd.rest
    if not rest:
        return cmd.problem("missing_argument", Detail("which_assignee"))
    staff = {email.lower(): name for email, name in cmd.vocabulary.staff.items()}
    if "@" in rest:
        found = _find_address(rest)
        address = _clean_address(found[0]) if found else None
        if found is None or address is None:
            return cmd.problem("bad_address", Detail("no_address", rest))
        if address not in staff:
            return cmd.problem("unknown_assignee", Detail("not_staff_address", address))
        return cmd.command(address, found[2].strip().lstrip(":,- "))
    head, tail = _split(rest, 1)
    if _key(head) in _ASSIGN_FILLER and tail:
        rest = tail
    ambiguous: set[str] = set()
    for n in range(min(_MAX_WORDS, len(rest.split())), 0, -1):
        head, tail = _split(rest, n)
        matches = _who(_key(head), staff, cmd.vocabulary.teams)
        if len(matches) == 1:
            return cmd.command(matches[0], tail)
        ambiguous.update(matches)
    if ambiguous:
        options = tuple(sorted(ambiguous))
        return cmd.problem("unknown_assignee", Detail("ambiguous", rest, options))
    return cmd.problem("unknown_assignee", Detail("nobody", rest))


def _who(key: str, staff: Mapping[str, str], teams: tuple[str, ...]) -> list[str]:
    """Who `key` names: an exact name or team first, else every partial match."""
    if not key:
        return []
    exact = [email for email, name in staff.items() if name and _key(name) == key]
    exact += [team for team in teams if _key(team) == key]
    if exact:
        return exact
    words = key.split()
    partial: list[str] = []
    for email, name in staff.items():
        named = _key(name).split()
        runs = (named[i : i + len(words)] for i in range(len(named) - len(words) + 1))
        if words in runs or key == _key(email.partition("@")[0]):
            partial.append(email)
    return partial


_HANDLERS: Mapping[Verb, Callable[[_Line], _Outcome]] = MappingProxyType(
    {
        Verb.TAKE: _take,
        Verb.ASSIGN: _assignee,
        Verb.PRIORITY: _priority,
        Verb.CATEGORY: _category,
        Verb.STATUS: _status,
        Verb.WAIT: lambda cmd: cmd.command(note=cmd.rest),
        Verb.RESOLVE: lambda cmd: _note_required(cmd, note=cmd.rest),
        Verb.CLOSE: _close,
        Verb.REOPEN: lambda cmd: cmd.command(note=cmd.rest),
        Verb.VENDOR: lambda cmd: _address_command(cmd, name_first=False),
        Verb.OPEN: lambda cmd: _address_command(cmd, name_first=True),
        Verb.UNIT: _unit,
        Verb.TYPE: lambda cmd: _choice(cmd, cmd.vocabulary.types, "unknown_type", "which_type"),
        Verb.CAUSE: lambda cmd: _choice(cmd, cmd.vocabulary.causes, "unknown_cause", "which_cause"),
        Verb.START: _day,
        Verb.DEADLINE: _day,
        Verb.KB: lambda cmd: cmd.command(),
    }
)


def _slot(command: Command) -> tuple[str, tuple[str, bool]] | None:
    """What a command sets, and to what: two different values for one slot conflict."""
    target = {
        Verb.WAIT: State.EN_ESPERA.value,
        Verb.RESOLVE: State.VALIDACION.value,
        Verb.CLOSE: State.CERRADO.value,
        Verb.REOPEN: State.EN_PROGRESO.value,
        Verb.STATUS: command.value,
    }.get(command.verb)
    if target is not None:
        return "state", (target, command.success)
    if command.verb is Verb.TAKE:
        return "assignee", ("", True)  # the sender, whoever that is
    if command.verb in (
        Verb.UNIT,
        Verb.ASSIGN,
        Verb.PRIORITY,
        Verb.CATEGORY,
        Verb.OPEN,
        Verb.TYPE,
        Verb.CAUSE,
        Verb.START,
        Verb.DEADLINE,
    ):
        slot = "assignee" if command.verb is Verb.ASSIGN else command.verb.value
        return slot, (command.value, True)
    if command.verb is Verb.NOTE:
        return "open", ("#note", True)  # a request for a new ticket cannot be internal
    return None


def _conflicts(commands: tuple[Command, ...]) -> list[Problem]:
    first: dict[str, tuple[tuple[str, bool], Command]] = {}
    problems: list[Problem] = []
    for command in commands:
        slot = _slot(command)
        if slot is None:
            continue
        name, value = slot
        if name not in first:
            first[name] = (value, command)
        elif first[name][0] != value:
            earlier = first[name][1].line
            problems.append(Problem(command.line, "conflict", Detail("contradicts", earlier)))
    return problems


def _visible(line: str) -> str:
    """The line without the spaces and invisible marks (zero-width space, BOM) at its ends.

    Mail clients leave such marks on lines that look empty; one of them must not end
    the command block and turn the next command into text.
    """
    start, end = 0, len(line)
    while start < end and _invisible(line[start]):
        start += 1
    while end > start and _invisible(line[end - 1]):
        end -= 1
    return line[start:end]


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"


def _split_block(text: str) -> tuple[list[str], str]:
    """The command lines at the top (stripped, NFC) and the body after them."""
    lines = text.splitlines()
    block: list[str] = []
    index = 0
    while index < len(lines):
        line = _visible(unicodedata.normalize("NFC", lines[index]))
        if line and not _COMMAND.fullmatch(line):
            break
        if line:
            block.append(line)
        index += 1
    return block, "\n".join(lines[index:]).rstrip()


def parse(text: str, vocabulary: Vocabulary) -> Parsed:
    """Read the commands at the top of a staff reply; never raises."""
    block, body = _split_block(text)
    commands: list[Command] = []
    problems: list[Problem] = []
    notes: list[str] = []
    note_at: int | None = None
    note_line = ""
    for line in block:
        match = _COMMAND.fullmatch(line)
        assert match is not None  # _split_block keeps only command lines
        rest = _SEPARATOR.sub("", match.group("rest"), count=1).strip()
        verb = _VERBS.get(_key(match.group("word")))
        if verb is None:
            detail = Detail("see_list", f"#{match.group('word')}")
            problems.append(Problem(line, "unknown_command", detail))
        elif verb is Verb.NOTE:
            if note_at is None:
                note_at, note_line = len(commands), line
            notes.append(rest)
        else:
            outcome = _HANDLERS[verb](_Line(verb, rest, line, body, vocabulary))
            if isinstance(outcome, Command):
                commands.append(outcome)
            else:
                problems.append(outcome)
    if note_at is not None:
        note = "\n".join(part for part in (*notes, body.strip()) if part)
        commands.insert(note_at, Command(Verb.NOTE, note=note, line=note_line))
    problems += _conflicts(tuple(commands))
    return Parsed(tuple(commands), tuple(problems), body)


COMMAND_HELP_INTRO: Mapping[str, str] = MappingProxyType(
    {
        "es": (
            "Puedes responder con comandos en las primeras líneas, cada uno en su línea y "
            "empezando con #. Una respuesta que solo tiene comandos no se envía al residente."
        ),
        "en": (
            "You can reply with commands on the first lines, one per line, each starting "
            "with #. A reply that has only commands is not sent to the resident."
        ),
    }
)

# Staff are addressed as "tú" in Spanish, as every other mail of the desk does.
COMMAND_HELP: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "es": (
            ("#nota [texto]", "Toda la respuesta queda como nota interna; el residente no la ve."),
            ("#tomar", "Tomas la solicitud: queda asignada a ti."),
            ("#asignar <correo | nombre | equipo>", "Asigna la solicitud a otra persona o equipo."),
            ("#prioridad <alta | media | baja>", "Cambia la prioridad."),
            ("#categoria <nombre>", "Cambia la categoría."),
            (
                "#unidad <unidad>",
                "Fija o corrige la unidad del directorio (402, B 402, bodega 12).",
            ),
            (
                "#estado <recibido | en progreso | en espera | validación | cerrado>",
                "Cambia el estado; validación y cerrado requieren una nota.",
            ),
            ("#espera [motivo]", "En espera del residente o de un proveedor; el plazo se pausa."),
            ("#resuelto <nota>", "Pasa a validación: se pide al residente que confirme."),
            ("#cerrar <nota>", "Cierra con éxito; la nota puede ir en el cuerpo."),
            ("#cerrar sin-éxito <motivo>", "Cierra sin éxito, indicando el motivo."),
            ("#reabrir [motivo]", "Reabre la solicitud."),
            ("#proveedor <correo> [mensaje]", "Deriva el caso a un proveedor."),
            (
                '#abrir <correo del residente> ["Nombre"]',
                "Abre una solicitud a nombre del residente con el asunto y el cuerpo del correo.",
            ),
            (
                "#tipo <tipo>",
                "Cambia el tipo de solicitud; su plazo puede cambiar la fecha límite.",
            ),
            ("#inicio <fecha>", "Fecha de inicio (2026-12-05 o 5/12/2026; ninguno la borra)."),
            ("#plazo <fecha>", "Fecha límite: la solicitud debe resolverse ese día."),
            ("#causa <causa>", "Causa final del cierre (puede ser obligatoria al cerrar)."),
            (
                "#conocimiento (o #kb)",
                "Con #cerrar (o en una solicitud cerrada): la respuesta de cierre pasa a la base"
                " de conocimiento, con el asunto como título.",
            ),
        ),
        "en": (
            ("#note [text]", "The whole reply is an internal note; the resident never sees it."),
            ("#take", "Take ownership: the request is assigned to you."),
            ("#assign <email | name | team>", "Assign the request to someone else or a team."),
            ("#priority <high | medium | low>", "Change the priority."),
            ("#category <name>", "Change the category."),
            ("#unit <unit>", "Set or correct the directory's unit (402, B 402, bodega 12)."),
            (
                "#status <received | in progress | waiting | validation | closed>",
                "Change the state; validation and closed need a note.",
            ),
            ("#wait [reason]", "Waiting on the resident or a vendor; the SLA clock pauses."),
            ("#resolve <note>", "Move to validation: the resident is asked to confirm."),
            ("#close <note>", "Close successfully; the note may be the body."),
            ("#close unsuccessful <reason>", "Close without success, saying why."),
            ("#reopen [reason]", "Reopen the request."),
            ("#vendor <email> [message]", "Hand the case to a vendor."),
            (
                '#open <resident email> ["Name"]',
                "Open a request for a resident with this mail's subject and body.",
            ),
            ("#type <type>", "Change the request type; its deadline may move the due date."),
            ("#start <date>", "Start date (2026-12-05 or 5/12/2026; none clears it)."),
            ("#deadline <date>", "Deadline: the request must be resolved by that day."),
            ("#cause <cause>", "Final cause of the closure (may be required to close)."),
            (
                "#knowledge (or #kb)",
                "With #close (or on a closed request): the closing reply becomes a knowledge-base"
                " article titled by the subject.",
            ),
        ),
    }
)

# What each problem code means; the template adds the detail after a colon and ends
# the sentence, so these carry no final stop.
PROBLEM_TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {
            "unknown_command": "Comando desconocido",
            "missing_argument": "Falta el valor del comando",
            "unknown_priority": "Prioridad desconocida",
            "unknown_category": "Categoría desconocida",
            "unknown_state": "Estado desconocido",
            "unknown_assignee": "No se encontró a esa persona o equipo",
            "unknown_unit": "Esa unidad no está en el directorio",
            "bad_address": "La dirección de correo no es válida",
            "note_required": "Se requiere una nota que explique lo realizado",
            "conflict": "Contradice otro comando del mismo correo",
            "forbidden": "Tu rol no permite hacerlo en esta solicitud",
            "invalid_transition": "No se puede en el estado actual de la solicitud",
            "unknown_type": "Tipo de solicitud desconocido",
            "unknown_cause": "Causa final desconocida",
            "bad_date": "Fecha no válida",
            "cause_required": "Para cerrar o resolver hay que indicar la causa final con #causa",
            "evidence_note": "Esta categoría exige una nota de cierre",
            "evidence_attachment": "Esta categoría exige un adjunto en el mensaje de cierre",
            "unknown_channel": "Medio de ingreso desconocido",
            "kb_not_closed": "Solo una solicitud cerrada va a la base de conocimiento (#cerrar)",
        },
        "en": {
            "unknown_command": "Unknown command",
            "missing_argument": "The command needs a value",
            "unknown_priority": "Unknown priority",
            "unknown_category": "Unknown category",
            "unknown_state": "Unknown state",
            "unknown_assignee": "No such staff member or team",
            "unknown_unit": "That unit is not in the directory",
            "bad_address": "Not a valid email address",
            "note_required": "A note saying what was done is required",
            "conflict": "Contradicts another command in the same mail",
            "forbidden": "Your role may not do this on this request",
            "invalid_transition": "Not possible in the request's current state",
            "unknown_type": "Unknown request type",
            "unknown_cause": "Unknown final cause",
            "bad_date": "Not a valid date",
            "cause_required": "Resolving or closing needs a final cause: add #cause",
            "evidence_note": "This category needs a closing note",
            "evidence_attachment": "This category needs an attachment in the closing message",
            "unknown_channel": "Unknown intake medium",
            "kb_not_closed": "Only a closed request goes to the knowledge base (use #close)",
        },
    }
)

# Each detail code as a phrase: {given} is what was written, {options} the valid words.
DETAIL_TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "es": {
            "see_list": "{given} no es un comando; los válidos están al final",
            "which_priority": "indica la prioridad",
            "which_category": "indica la categoría",
            "which_state": "indica el estado",
            "which_address": "indica la dirección de correo",
            "which_assignee": "indica a quién",
            "which_unit": "indica la unidad",
            "not_unit": "«{given}»; las más parecidas son: {options}",
            "no_unit_like": "«{given}»; ninguna se le parece (maildesk directory list las muestra)",
            "not_priority": "«{given}» no es ninguna de estas: {options}",
            "not_category": "«{given}» no es ninguna de estas: {options}",
            "not_state": "«{given}» no es ninguno de estos: {options}",
            "no_address": "«{given}» no contiene una dirección de correo válida",
            "not_staff_address": "{given} no es la dirección de nadie del personal",
            "ambiguous": "«{given}» puede ser cualquiera de estos: {options}",
            "nobody": "«{given}» no es nadie del personal ni un equipo",
            "note_needed": "escribe lo que se hizo, en la línea del comando o en el cuerpo",
            "contradicts": "contradice «{given}»",
            "empty_reply": "la respuesta está vacía",
            "forbidden": "tu rol es {given} y la solicitud es del equipo {options}",
            "closed": "la solicitud está cerrada; primero reábrela con #reabrir",
            "only_from": "solo se puede en estos estados: {options}",
            "cannot_go": "no se puede pasar de {given} a {options}",
            "which_type": "indica el tipo",
            "which_cause": "indica la causa",
            "which_date": "indica la fecha",
            "not_one_of": "«{given}» no es ninguno de estos: {options}",
            "not_date": "«{given}» no es una fecha como 2026-12-05 o 5/12/2026",
            "valid_are": "las válidas: {given}",
            "as_said": "{given}",
        },
        "en": {
            "see_list": "{given} is not a command; the valid ones are listed below",
            "which_priority": "name the priority",
            "which_category": "name the category",
            "which_state": "name the state",
            "which_address": "give the email address",
            "which_assignee": "say to whom",
            "which_unit": "name the unit",
            "not_unit": "'{given}'; the closest are: {options}",
            "no_unit_like": "'{given}'; none is like it (maildesk directory list shows them)",
            "not_priority": "'{given}' is none of: {options}",
            "not_category": "'{given}' is none of: {options}",
            "not_state": "'{given}' is none of: {options}",
            "no_address": "'{given}' has no valid email address",
            "not_staff_address": "{given} is no staff member's address",
            "ambiguous": "'{given}' could be any of: {options}",
            "nobody": "'{given}' is no staff member or team",
            "note_needed": "write what was done, on the command's line or in the body",
            "contradicts": "contradicts '{given}'",
            "empty_reply": "the reply is empty",
            "forbidden": "your role is {given} and the request belongs to team {options}",
            "closed": "the request is closed; reopen it first with #reopen",
            "only_from": "only possible in these states: {options}",
            "cannot_go": "cannot go from {given} to {options}",
            "which_type": "name the type",
            "which_cause": "name the cause",
            "which_date": "give the date",
            "not_one_of": "'{given}' is none of: {options}",
            "not_date": "'{given}' is not a date such as 2026-12-05 or 5/12/2026",
            "valid_are": "the valid ones: {given}",
            "as_said": "{given}",
        },
    }
)

# How the words of a detail are shown: (given, options), each a `labels` function or None.
_Word = Callable[[str, str], str]
_DETAIL_WORDS: Mapping[str, tuple[_Word | None, _Word | None]] = MappingProxyType(
    {
        "not_priority": (None, labels.priority_label),
        "not_category": (None, labels.category_label),
        "not_state": (None, labels.state_label),
        "not_unit": (None, labels.unit_label),
        "ambiguous": (None, labels.team_label),
        "forbidden": (labels.role_label, labels.team_label),
        "only_from": (None, labels.state_label),
        "cannot_go": (labels.state_label, labels.state_label),
    }
)


def transition_detail(state: State, action: states.Action, command: Command) -> Detail:
    """Why `command` cannot move a ticket in `state`, for the sender to read."""
    if state is State.CERRADO:
        return Detail("closed")
    if command.verb is Verb.STATUS:
        return Detail("cannot_go", state.value, (command.value,))
    sources = tuple(s.value for s in State if action in states.allowed(s))
    return Detail("only_from", options=sources)


def explain(detail: object, language: str) -> str:
    """A problem's detail as a phrase in `language`; text that is no `Detail` is kept as is."""
    if not isinstance(detail, Detail):
        return str(detail or "")
    words = DETAIL_TEXT.get(language, DETAIL_TEXT["es"])
    template = words.get(detail.code)
    if template is None:
        return " ".join((detail.code, detail.given, *detail.options)).strip()
    given_word, option_word = _DETAIL_WORDS.get(detail.code, (None, None))
    given = given_word(detail.given, language) if given_word else detail.given
    options = [option_word(o, language) if option_word else o for o in detail.options]
    # Unit names have commas of their own ("torre B, depto 402").
    separator = " · " if detail.code == "not_unit" else ", "
    return template.format(given=given, options=separator.join(options))
