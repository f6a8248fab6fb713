"""Staff `#commands` at the top of a reply (maildesk.inbound.commands)."""

from __future__ import annotations

import pytest

from maildesk.inbound.commands import (
    CHECK_CODES,
    COMMAND_HELP,
    COMMAND_HELP_INTRO,
    PROBLEM_CODES,
    PROBLEM_TEXT,
    Command,
    Parsed,
    Problem,
    Verb,
    Vocabulary,
    parse,
)

VOCAB = Vocabulary(
    priorities=("alta", "media", "baja"),
    categories=("mantenimiento", "convivencia", "paquetería", "áreas comunes"),
    teams=("recepción", "administración"),
    staff={
        "ana@example.org": "Ana Pérez",
        "Luis@Example.org": "Luis Soto",
        "asilva@example.org": "Ana Silva",
        "robot@example.org": "",
    },
    types={"reclamo": "reclamo", "complaint": "reclamo", "solicitud de obra": "obra"},
    causes={"mal uso": "mal_uso", "misuse": "mal_uso", "desgaste normal": "desgaste"},
)


def only(text: str) -> Command:
    """The single command of `text`, which must parse without problems."""
    parsed = parse(text, VOCAB)
    assert parsed.problems == (), parsed.problems
    assert len(parsed.commands) == 1, parsed.commands
    return parsed.commands[0]


# text -> (verb, value, note, success)
VERBS: list[tuple[str, tuple[Verb, str, str, bool]]] = [
    # #nota / #note
    ("#nota llamé al conserje", (Verb.NOTE, "", "llamé al conserje", True)),
    ("#NOTA: llamé al conserje", (Verb.NOTE, "", "llamé al conserje", True)),
    ("#note called the janitor", (Verb.NOTE, "", "called the janitor", True)),
    ("#Note", (Verb.NOTE, "", "", True)),
    # #tomar / #take
    ("#tomar", (Verb.TAKE, "", "", True)),
    ("#Tomar posesión", (Verb.TAKE, "", "", True)),
    ("#TAKE", (Verb.TAKE, "", "", True)),
    ("#take ownership", (Verb.TAKE, "", "", True)),
    # #asignar / #assign: email, full name, partial name, team
    ("#asignar ana@example.org", (Verb.ASSIGN, "ana@example.org", "", True)),
    ("#Asignar <LUIS@example.org>", (Verb.ASSIGN, "luis@example.org", "", True)),
    ("#asignar Ana Pérez", (Verb.ASSIGN, "ana@example.org", "", True)),
    (
        "#asignar ana perez revisar la bomba",
        (Verb.ASSIGN, "ana@example.org", "revisar la bomba", True),
    ),
    ("#asignar a Luis", (Verb.ASSIGN, "luis@example.org", "", True)),
    ("#assign Silva", (Verb.ASSIGN, "asilva@example.org", "", True)),
    ("#assign to luis", (Verb.ASSIGN, "luis@example.org", "", True)),
    ("#asignar recepcion", (Verb.ASSIGN, "recepción", "", True)),
    ("#ASSIGN Administración", (Verb.ASSIGN, "administración", "", True)),
    # #prioridad / #priority
    ("#prioridad alta", (Verb.PRIORITY, "alta", "", True)),
    ("#Prioridad: BAJA", (Verb.PRIORITY, "baja", "", True)),
    ("#priority high", (Verb.PRIORITY, "alta", "", True)),
    ("#priority Medium", (Verb.PRIORITY, "media", "", True)),
    ("#priority low porque puede esperar", (Verb.PRIORITY, "baja", "porque puede esperar", True)),
    # #categoria / #category
    ("#categoria mantenimiento", (Verb.CATEGORY, "mantenimiento", "", True)),
    ("#Categoría Paqueteria", (Verb.CATEGORY, "paquetería", "", True)),
    ("#CATEGORÍA areas comunes", (Verb.CATEGORY, "áreas comunes", "", True)),
    ("#category Áreas-Comunes", (Verb.CATEGORY, "áreas comunes", "", True)),
    # #estado / #status
    ("#estado recibido", (Verb.STATUS, "recibido", "", True)),
    ("#estado en progreso", (Verb.STATUS, "en_progreso", "", True)),
    ("#Estado en-progreso", (Verb.STATUS, "en_progreso", "", True)),
    ("#estado en_progreso", (Verb.STATUS, "en_progreso", "", True)),
    ("#estado EN ESPERA del proveedor", (Verb.STATUS, "en_espera", "del proveedor", True)),
    (
        "#estado validación se cambió el sello",
        (Verb.STATUS, "validacion", "se cambió el sello", True),
    ),
    ("#estado validacion listo", (Verb.STATUS, "validacion", "listo", True)),
    ("#estado cerrado se cambió la llave", (Verb.STATUS, "cerrado", "se cambió la llave", True)),
    ("#estado cerrado sin éxito no corresponde", (Verb.STATUS, "cerrado", "no corresponde", False)),
    ("#status new", (Verb.STATUS, "recibido", "", True)),
    ("#status received", (Verb.STATUS, "recibido", "", True)),
    ("#status in progress", (Verb.STATUS, "en_progreso", "", True)),
    ("#Status In-Progress", (Verb.STATUS, "en_progreso", "", True)),
    ("#status waiting", (Verb.STATUS, "en_espera", "", True)),
    ("#status on hold", (Verb.STATUS, "en_espera", "", True)),
    ("#status resolved seal replaced", (Verb.STATUS, "validacion", "seal replaced", True)),
    ("#status validation seal replaced", (Verb.STATUS, "validacion", "seal replaced", True)),
    ("#status closed key replaced", (Verb.STATUS, "cerrado", "key replaced", True)),
    # #espera / #wait
    ("#espera", (Verb.WAIT, "", "", True)),
    ("#Espera respuesta del proveedor", (Verb.WAIT, "", "respuesta del proveedor", True)),
    ("#wait for the resident", (Verb.WAIT, "", "for the resident", True)),
    # #resuelto / #resolve
    ("#resuelto se cambió el sello", (Verb.RESOLVE, "", "se cambió el sello", True)),
    ("#RESUELTO: listo", (Verb.RESOLVE, "", "listo", True)),
    ("#resolve seal replaced", (Verb.RESOLVE, "", "seal replaced", True)),
    # #cerrar / #close, con y sin éxito
    ("#cerrar se cambió la llave", (Verb.CLOSE, "", "se cambió la llave", True)),
    ("#Cerrar con éxito se cambió la llave", (Verb.CLOSE, "", "se cambió la llave", True)),
    ("#cerrar sin-exito no corresponde", (Verb.CLOSE, "", "no corresponde", False)),
    ("#cerrar sin éxito no corresponde", (Verb.CLOSE, "", "no corresponde", False)),
    ("#CERRAR Sin-Éxito: no corresponde", (Verb.CLOSE, "", "no corresponde", False)),
    ("#close key replaced", (Verb.CLOSE, "", "key replaced", True)),
    ("#close unsuccessful not our building", (Verb.CLOSE, "", "not our building", False)),
    ("#close failed resident moved out", (Verb.CLOSE, "", "resident moved out", False)),
    # #reabrir / #reopen
    ("#reabrir", (Verb.REOPEN, "", "", True)),
    ("#Reabrir el residente llamó", (Verb.REOPEN, "", "el residente llamó", True)),
    ("#reopen", (Verb.REOPEN, "", "", True)),
    ("#reabrir, el residente llamó", (Verb.REOPEN, "", "el residente llamó", True)),
    # #proveedor / #vendor
    ("#proveedor gasfiter@example.net", (Verb.VENDOR, "gasfiter@example.net", "", True)),
    (
        "#Proveedor Gasfiter@Example.net favor revisar el lunes",
        (Verb.VENDOR, "gasfiter@example.net", "favor revisar el lunes", True),
    ),
    (
        "#vendor <lifts@example.net> please call",
        (Verb.VENDOR, "lifts@example.net", "please call", True),
    ),
    # #abrir / #open
    ("#abrir juan@example.com", (Verb.OPEN, "juan@example.com", "", True)),
    ('#abrir juan@example.com "Juan Pérez"', (Verb.OPEN, "juan@example.com", "Juan Pérez", True)),
    ("#Abrir Juan Pérez <Juan@Example.com>", (Verb.OPEN, "juan@example.com", "Juan Pérez", True)),
    ("#open mailto:jane@example.com Jane Doe", (Verb.OPEN, "jane@example.com", "Jane Doe", True)),
    # #unidad / #unit: the text as written; the directory is asked by the caller
    ("#unidad 402", (Verb.UNIT, "402", "", True)),
    ("#Unidad: Torre Ñandú depto 402", (Verb.UNIT, "Torre Ñandú depto 402", "", True)),
    ("#unit bodega 12", (Verb.UNIT, "bodega 12", "", True)),
    # #tipo / #type: by slug or name in either language; ninguno clears it
    ("#tipo Reclamo", (Verb.TYPE, "reclamo", "", True)),
    ("#type complaint", (Verb.TYPE, "reclamo", "", True)),
    ("#Tipo: solicitud de obra", (Verb.TYPE, "obra", "", True)),
    ("#tipo ninguno", (Verb.TYPE, "", "", True)),
    # #causa / #cause
    ("#causa mal uso", (Verb.CAUSE, "mal_uso", "", True)),
    ("#Cause Misuse", (Verb.CAUSE, "mal_uso", "", True)),
    ("#causa Desgaste normal", (Verb.CAUSE, "desgaste", "", True)),
    # #inicio / #start, #plazo / #deadline: ISO or day first
    ("#inicio 2026-12-07", (Verb.START, "2026-12-07", "", True)),
    ("#start 7/12/2026 visita técnica", (Verb.START, "2026-12-07", "visita técnica", True)),
    ("#plazo 05-01-2027", (Verb.DEADLINE, "2027-01-05", "", True)),
    ("#deadline 2027-01-05", (Verb.DEADLINE, "2027-01-05", "", True)),
    ("#plazo ninguno", (Verb.DEADLINE, "", "", True)),
    # #kb (both languages), #conocimiento / #knowledge
    ("#kb", (Verb.KB, "", "", True)),
    ("#KB", (Verb.KB, "", "", True)),
    ("#Conocimiento", (Verb.KB, "", "", True)),
    ("#knowledge", (Verb.KB, "", "", True)),
]


@pytest.mark.parametrize(("text", "expected"), VERBS, ids=[t for t, _ in VERBS])
def test_every_verb_in_both_languages(text: str, expected: tuple[Verb, str, str, bool]) -> None:
    """Each verb is understood in Spanish and English, any case, with or without accents."""
    command = only(text)
    assert (command.verb, command.value, command.note, command.success) == expected
    assert command.line == text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("#tipo mudanza", "unknown_type"),
        ("#causa rayo", "unknown_cause"),
        ("#plazo mañana", "bad_date"),
        ("#plazo 31/02/2027", "bad_date"),
        ("#inicio", "missing_argument"),
    ],
)
def test_bad_type_cause_or_date_is_a_problem(text: str, code: str) -> None:
    """An unknown type or cause, or a date that is none, is reported and sets nothing."""
    parsed = parse(text, VOCAB)
    assert parsed.commands == ()
    assert [p.code for p in parsed.problems] == [code]


def test_every_verb_is_tested() -> None:
    """The table above exercises every verb."""
    assert {verb for _, (verb, *_rest) in VERBS} == set(Verb)


# text -> (code, the line the problem names)
PROBLEMS: list[tuple[str, str, str]] = [
    ("#foo", "unknown_command", "#foo"),
    ("#tipo mudanza", "unknown_type", "#tipo mudanza"),
    ("#causa rayo", "unknown_cause", "#causa rayo"),
    ("#plazo mañana", "bad_date", "#plazo mañana"),
    ("#cerrrar listo", "unknown_command", "#cerrrar listo"),
    ("#gracias por avisar\nHola", "unknown_command", "#gracias por avisar"),
    ("#asignar", "missing_argument", "#asignar"),
    ("#prioridad", "missing_argument", "#prioridad"),
    ("#categoria  ", "missing_argument", "#categoria"),
    ("#estado", "missing_argument", "#estado"),
    ("#proveedor", "missing_argument", "#proveedor"),
    ("#abrir", "missing_argument", "#abrir"),
    ("#unidad", "missing_argument", "#unidad"),
    ("#prioridad urgente", "unknown_priority", "#prioridad urgente"),
    ("#priority critical", "unknown_priority", "#priority critical"),
    ("#categoria plomería", "unknown_category", "#categoria plomería"),
    ("#estado archivado", "unknown_state", "#estado archivado"),
    ("#status done", "unknown_state", "#status done"),
    ("#asignar pedro", "unknown_assignee", "#asignar pedro"),
    ("#asignar Ana", "unknown_assignee", "#asignar Ana"),
    ("#asignar pedro@example.org", "unknown_assignee", "#asignar pedro@example.org"),
    ("#asignar ana@", "bad_address", "#asignar ana@"),
    ("#proveedor gasfiter", "bad_address", "#proveedor gasfiter"),
    ("#proveedor gas@fiter", "bad_address", "#proveedor gas@fiter"),
    ("#abrir Juan Pérez", "bad_address", "#abrir Juan Pérez"),
    ("#cerrar", "note_required", "#cerrar"),
    ("#cerrar sin éxito", "note_required", "#cerrar sin éxito"),
    ("#close failed", "note_required", "#close failed"),
    ("#cerrar ...", "note_required", "#cerrar ..."),
    ("#resuelto", "note_required", "#resuelto"),
    ("#estado cerrado", "note_required", "#estado cerrado"),
    ("#status closed", "note_required", "#status closed"),
    ("#estado validación", "note_required", "#estado validación"),
    ("#cerrar listo\n#reabrir", "conflict", "#reabrir"),
    ("#asignar ana@example.org\n#asignar Luis", "conflict", "#asignar Luis"),
    ("#tomar\n#asignar Luis", "conflict", "#asignar Luis"),
    ("#prioridad alta\n#priority low", "conflict", "#priority low"),
    ("#categoria convivencia\n#category mantenimiento", "conflict", "#category mantenimiento"),
    ("#espera\n#resuelto listo", "conflict", "#resuelto listo"),
    ("#cerrar listo\n#cerrar sin éxito no aplica", "conflict", "#cerrar sin éxito no aplica"),
    ("#estado en espera\n#estado cerrado listo", "conflict", "#estado cerrado listo"),
    ("#abrir a@example.com\n#abrir b@example.com", "conflict", "#abrir b@example.com"),
    ("#abrir a@example.com\n#nota llamó", "conflict", "#nota llamó"),
    ("#unidad 402\n#unit 403", "conflict", "#unit 403"),
]


@pytest.mark.parametrize(("text", "code", "line"), PROBLEMS, ids=[t for t, _, _ in PROBLEMS])
def test_problems(text: str, code: str, line: str) -> None:
    """Each kind of mistake is reported with its code and the offending line, never raised."""
    parsed = parse(text, VOCAB)
    assert [(p.code, p.line) for p in parsed.problems] == [(code, line)]
    assert parsed.problems[0].detail


def test_every_problem_code_is_tested_and_explained() -> None:
    """Every problem code appears in the table and has a sentence in Spanish and English."""
    assert {code for _, code, _ in PROBLEMS} == set(PROBLEM_CODES)
    for language in ("es", "en"):
        assert set(PROBLEM_TEXT[language]) == set(PROBLEM_CODES) | set(CHECK_CODES)


def test_same_thing_twice_is_no_conflict() -> None:
    """Repeating a command, or saying the same state two ways, is not a contradiction."""
    parsed = parse("#tomar\n#take\n#cerrar listo\n#estado cerrado listo", VOCAB)
    assert parsed.problems == ()
    assert [c.verb for c in parsed.commands] == [Verb.TAKE, Verb.TAKE, Verb.CLOSE, Verb.STATUS]


def test_good_commands_are_kept_beside_problems() -> None:
    """A bad line does not hide the good ones: the caller can report all of it."""
    parsed = parse("#prioridad alta\n#foo\n#categoria mantenimiento", VOCAB)
    assert [c.verb for c in parsed.commands] == [Verb.PRIORITY, Verb.CATEGORY]
    assert [p.code for p in parsed.problems] == ["unknown_command"]


def test_several_commands_then_body() -> None:
    """Many commands, blank lines among them, then the body that goes to the resident."""
    text = (
        "\n\n#tomar\n#Prioridad alta\n\n#categoría mantenimiento\n\n"
        "Estimada Ana:\nMañana va el técnico.\n\nSaludos\n"
    )
    parsed = parse(text, VOCAB)
    assert [(c.verb, c.value) for c in parsed.commands] == [
        (Verb.TAKE, ""),
        (Verb.PRIORITY, "alta"),
        (Verb.CATEGORY, "mantenimiento"),
    ]
    assert parsed.problems == ()
    assert parsed.body == "Estimada Ana:\nMañana va el técnico.\n\nSaludos"
    assert not parsed.only_commands
    assert not parsed.is_note


def test_body_only() -> None:
    """A reply without commands is all body, sent as it is."""
    parsed = parse("Hola Ana,\nya vamos.\n#cerrar listo", VOCAB)
    assert parsed == Parsed((), (), "Hola Ana,\nya vamos.\n#cerrar listo")


@pytest.mark.parametrize(
    "text",
    [
        "Hola\n#cerrar listo",
        "Revisamos.\n\n#prioridad alta\n#tomar",
        "Ver #1234 también",
    ],
)
def test_hash_lines_after_the_body_are_text(text: str) -> None:
    """A `#` line after the body starts is plain text, never a command."""
    parsed = parse(text, VOCAB)
    assert parsed.commands == ()
    assert parsed.problems == ()
    assert parsed.body == text


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("#1234 está relacionado", "#1234 está relacionado"),
        ("#tomar\n#1234\n#cerrar listo", "#1234\n#cerrar listo"),
        ("# Título\nTexto", "# Título\nTexto"),
        ("#\nTexto", "#\nTexto"),
    ],
)
def test_hash_digit_or_space_at_top_is_body(text: str, body: str) -> None:
    """`#1234`, a lone `#` or `# heading` at the top is not a command: the body starts there."""
    parsed = parse(text, VOCAB)
    assert parsed.problems == ()
    assert parsed.body == body
    assert all(c.verb is Verb.TAKE for c in parsed.commands)


def test_only_commands_sends_nothing() -> None:
    """A reply of commands alone has an empty body."""
    parsed = parse("#tomar\n#prioridad baja\n\n   \n", VOCAB)
    assert parsed.only_commands
    assert parsed.body == ""


def test_note_with_body() -> None:
    """`#nota` makes the rest of its line plus the whole body an internal note."""
    parsed = parse("#nota Conversé con el conserje\n#tomar\nEl residente no estaba.\n", VOCAB)
    assert parsed.is_note
    assert parsed.problems == ()
    assert parsed.commands[0] == Command(
        Verb.NOTE,
        note="Conversé con el conserje\nEl residente no estaba.",
        line="#nota Conversé con el conserje",
    )
    assert parsed.commands[1].verb is Verb.TAKE
    assert parsed.body == "El residente no estaba."


def test_several_note_lines_make_one_note() -> None:
    """Two `#nota` lines give one note, in order, followed by the body."""
    parsed = parse("#nota uno\n#prioridad alta\n#note dos\ntres", VOCAB)
    notes = [c for c in parsed.commands if c.verb is Verb.NOTE]
    assert [c.note for c in notes] == ["uno\ndos\ntres"]
    assert parsed.commands[0].verb is Verb.NOTE


@pytest.mark.parametrize(
    ("text", "note", "success"),
    [
        (
            "#cerrar\n\nSe cambió la llave de paso.\nSaludos",
            "Se cambió la llave de paso.\nSaludos",
            True,
        ),
        (
            "#cerrar sin-éxito\nNo corresponde a la administración.",
            "No corresponde a la administración.",
            False,
        ),
        ("#close\nKey replaced.", "Key replaced.", True),
        ("#resuelto\nSe cambió el sello.", "Se cambió el sello.", True),
        ("#estado cerrado\nListo.", "Listo.", True),
        ("#cerrar listo\nSe cambió la llave.", "listo", True),
    ],
)
def test_close_note_from_body(text: str, note: str, success: bool) -> None:
    """When the command line has no note, the body is the resolution note (and still the body)."""
    command = only(text)
    assert (command.note, command.success) == (note, success)
    assert parse(text, VOCAB).body.endswith(text.splitlines()[-1])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "#",
        "##",
        "#\u0301",
        "#a" * 10_000,
        "#asignar " + "x " * 10_000,
        "#abrir <<<@>>>",
        "#proveedor <>",
        "\x00#cerrar\x00",
        "#ñ" + "\n" * 1000,
        "#estado 🚀",
    ],
)
def test_never_raises(text: str) -> None:
    """Odd or hostile input gives a Parsed, never an exception."""
    assert isinstance(parse(text, VOCAB), Parsed)


def test_decomposed_accents() -> None:
    """A command typed with combining accents (NFD) is the same command."""
    assert only("#categori\u0301a paqueteri\u0301a").value == "paquetería"


def test_priority_aliases_follow_configuration() -> None:
    """high/medium/low name alta/media/baja only when those are configured; custom names work."""
    custom = Vocabulary(priorities=("urgente", "normal"), categories=(), teams=(), staff={})
    assert parse("#prioridad Urgente", custom).commands[0].value == "urgente"
    assert [p.code for p in parse("#priority high", custom).problems] == ["unknown_priority"]


def test_problem_keeps_nothing_of_the_failed_command() -> None:
    """A command with a problem is not also returned as a command."""
    parsed = parse("#estado cerrado", VOCAB)
    assert parsed.commands == ()
    assert parsed.problems == (
        Problem("#estado cerrado", "note_required", parsed.problems[0].detail),
    )


@pytest.mark.parametrize("language", ["es", "en"])
def test_help_lists_every_verb(language: str) -> None:
    """The commands summary in notification mails names one known word per verb."""
    words = {syntax.split()[0] for syntax, _ in COMMAND_HELP[language]}
    for word in words:
        assert [p.code for p in parse(word, VOCAB).problems] != ["unknown_command"], word
    assert len(words) == len(Verb)
    assert all(meaning for _, meaning in COMMAND_HELP[language])
    assert COMMAND_HELP_INTRO[language]


def test_help_languages_use_their_own_words() -> None:
    """The Spanish summary shows the Spanish words, the English one the English words."""
    spanish = {s.split()[0] for s, _ in COMMAND_HELP["es"]}
    english = {s.split()[0] for s, _ in COMMAND_HELP["en"]}
    assert spanish.isdisjoint(english)
    assert "#cerrar" in spanish and "#close" in english


def _error_mail(text: str, language: str) -> str:
    """The command-error mail's text for the problems of `text`, as the desk sends it."""
    from maildesk.outbound.compose import render

    parsed = parse(text, VOCAB)
    context = {
        "tag": "[#7]",
        "tagged_subject": "[#7] Fuga",
        "desk_name": "Edificio Ñuñoa",
        "language": language,
        "problems": [(p.line, p.code, p.detail) for p in parsed.problems],
        "problem_text": PROBLEM_TEXT[language],
        "commands": COMMAND_HELP[language],
    }
    return render("command_error", language, context).text


def test_spanish_command_errors_are_all_spanish() -> None:
    """A Spanish error mail words every detail in Spanish, with clean punctuation."""
    text = _error_mail(
        "#volar\n#prioridad urgente\n#estado archivado\n#cerrar listo\n#reabrir", "es"
    )
    assert "→ Comando desconocido: #volar no es un comando" in text
    assert "«urgente» no es ninguna de estas: alta, media, baja." in text
    assert "en progreso, en espera, validación, cerrado." in text
    assert "contradice «#cerrar listo»." in text
    assert ".:" not in text and ".." not in text
    for english in ("contradicts", "is not", "one of", "which", "ticket"):
        assert english not in text, english


def test_english_command_errors_use_english_words() -> None:
    """An English error mail names priorities and states in English."""
    text = _error_mail("#priority urgent\n#status archived", "en")
    assert "'urgent' is none of: high, medium, low." in text
    assert "received, in progress, waiting, validation, closed." in text


def test_spanish_staff_texts_use_tu() -> None:
    """Staff are addressed as tú in Spanish, like every other mail of the desk."""
    spanish = " ".join(
        [
            COMMAND_HELP_INTRO["es"],
            *(m for _, m in COMMAND_HELP["es"]),
            *PROBLEM_TEXT["es"].values(),
        ]
    )
    assert "usted" not in spanish and "Puede " not in spanish
    assert "Puedes" in spanish and "a ti" in spanish


@pytest.mark.parametrize("blank", ["\u200b", "\ufeff", "\u00a0", " \u200b\t"])
def test_invisible_blank_lines_are_blank(blank: str) -> None:
    """A line with only invisible characters (as mail clients leave) is a blank line."""
    parsed = parse(f"#tomar\n{blank}\n#prioridad alta\n{blank}\n", VOCAB)
    assert [c.verb for c in parsed.commands] == [Verb.TAKE, Verb.PRIORITY]
    assert parsed.problems == () and parsed.body == "" and parsed.only_commands


def test_spanish_escalation_words_its_row() -> None:
    """A Spanish escalation names priority, state, team and history events in Spanish."""
    from maildesk.outbound.compose import render

    row = {
        "number": 7,
        "subject": "Fuga",
        "priority": "alta",
        "state": "en_espera",
        "assignee": "",
        "team": "recepción",
        "level": "supervisor",
        "target": "first_response",
        "used": 120,
        "late_minutes": 20,
        "history": [("2026-11-23 10:00", "a@b.example", "created")],
        "reply_to": "soporte+7-abc@alameda.example",
    }
    context = {
        "rows": [row],
        "count": 1,
        "tagged_subject": "[#7] Fuga",
        "tag": "[#7]",
        "desk_name": "Edificio Ñuñoa",
    }
    spanish = render("escalation", "es", {**context, "language": "es"}).text
    assert "Prioridad alta · estado en espera" in spanish and "equipo recepción" in spanish
    assert "a@b.example creada" in spanish
    english = render("escalation", "en", {**context, "language": "en"}).text
    assert "Priority high · state waiting" in english and "team front desk" in english
