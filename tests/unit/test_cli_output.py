"""CLI tables and `ticket show` text never hand a terminal escape to the operator (issue 15)."""

from __future__ import annotations

import json
import re

from maildesk.cli.read import printable, table, ticket_text

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31mrojo\x9b1m\r\x00\x7f"
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_table_cells_show_control_characters_escaped() -> None:
    """A subject with OSC title, clear-screen, CSI (7- and 8-bit), CR, NUL and DEL is printed as `\\xNN` text."""
    out = table([{"number": 1, "subject": "Fuga " + ESCAPES, "requester": "ñandú@x"}])
    assert not RAW_CONTROL.search(out) and "\n" in out  # the header line and one row
    assert "\\x1b]0;pwned\\x07" in out and "ñandú@x" in out


def test_ticket_show_keeps_lines_and_escapes_the_rest() -> None:
    """A message body keeps its newlines; subject, name and body lose raw escapes."""
    message = {
        "at": "2026-11-30T12:00:00+00:00",
        "direction": "inbound",
        "kind": "normal",
        "public": True,
        "sender": "vecina@correo.example",
        "text": "Hola\n" + ESCAPES + "\nAdiós",
        "attachments": [],
    }
    data = {
        "number": 1,
        "subject": "Fuga " + ESCAPES,
        "state": "recibido",
        "priority": "media",
        "category": "mantenimiento",
        "channel": "mail",
        "requester_name": "Eve" + ESCAPES,
        "requester": "vecina@correo.example",
        "assignee": None,
        "unit": None,
        "directory_unit": None,
        "requester_relation": None,
        "type": None,
        "starts_on": None,
        "deadline": None,
        "cause": None,
        "participants": [],
        "opened_at": "2026-11-30T12:00:00+00:00",
        "status_url": "https://soporte.example/t/x",
        "sla": {},
        "messages": [message],
        "events": [],
    }
    out = ticket_text(data, "es")
    assert not RAW_CONTROL.search(out)
    assert "Hola\n\\x1b]0;pwned" in out and "\nAdiós" in out


def test_json_is_left_to_the_encoder() -> None:
    """JSON keeps the stored text (its encoder escapes C0 controls); only tables and text are escaped."""
    assert printable("a\nb", lines=True) == "a\nb"
    assert printable("a\nb") == "a\\x0ab"
    assert "\\u001b" in json.dumps({"subject": ESCAPES})
