"""Log lines: plain or JSON, each on one line whatever a mail's Message-Id holds, and each
naming the ticket and Message-Id of the work in hand."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from maildesk import config as config_mod
from maildesk import logs
from maildesk.errors import ConfigError

HOSTILE = "<a\r\n2026-11-30 INFO maildesk: forged line\u2028\x85\x1b[31m@x>"


def record(message: str = "outbox 3 to vecina@correo.example sent") -> logging.LogRecord:
    made = logging.LogRecord(
        "maildesk.outbound.outbox", logging.INFO, __file__, 1, message, (), None
    )
    logs.AboutFilter().filter(made)
    return made


def test_json_line_carries_ticket_and_hostile_message_id_on_one_line() -> None:
    """JSON: the ticket and the Message-Id as given, escaped so the line stays one line."""
    with logs.about(ticket=12, message_id=HOSTILE):
        line = logs.JsonFormatter().format(record("fuga en el baño, Ñuñoa"))
    assert len(line.splitlines()) == 1
    data = json.loads(line)
    assert data["ticket"] == 12 and data["message_id"] == HOSTILE
    assert data["message"] == "fuga en el baño, Ñuñoa" and "Ñuñoa" in line
    assert data["level"] == "INFO" and data["logger"] == "maildesk.outbound.outbox"
    assert data["time"].endswith("+00:00")


def test_plain_line_prefixes_ticket_and_escapes_controls() -> None:
    """Plain: `[#12 <id>]` before the message, the Message-Id's controls shown as \\xNN; a
    message's further lines are indented, so none starts like a record of its own."""
    forged = "fuga\r\n2026-11-30 10:00:00,000 ERROR maildesk: forged\n  banner line"
    with logs.about(ticket=12, message_id=HOSTILE):
        line = logs.PlainFormatter().format(record(forged))
    first, *rest = line.split("\n")
    assert "INFO maildesk.outbound.outbox: [#12 <a\\x0d\\x0a2026-11-30" in first
    assert first.endswith("\\x1b[31m@x>] fuga\\x0d")
    assert rest == ["  2026-11-30 10:00:00,000 ERROR maildesk: forged", "  banner line"]
    assert len(line.splitlines()) == 3  # no \u2028, \x85 or lone \r splits it further


def test_exception_keeps_its_traceback_in_the_json_object() -> None:
    """A logged exception is one JSON line with an `exception` key."""
    try:
        raise ValueError("no")
    except ValueError:
        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    data = json.loads(logs.JsonFormatter().format(made))
    assert "ValueError: no" in data["exception"] and "ticket" not in data


def test_ticket_learnt_inside_about_and_forgotten_after() -> None:
    """`note` names the ticket inside `about`, does nothing outside, and nesting restores."""
    logs.note(ticket=5)
    assert logs.current() == (None, None)
    with logs.about(message_id="<m@x>"):
        logs.note(ticket=7)
        assert logs.current() == (7, "<m@x>")
        with logs.about(ticket=8, message_id="<n@x>"):
            assert logs.current() == (8, "<n@x>")
        assert logs.current() == (7, "<m@x>")
    assert logs.current() == (None, None)


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_no_context_no_prefix(fmt: str) -> None:
    """A line about nothing in particular carries no ticket and no Message-Id."""
    formatter = logs.JsonFormatter() if fmt == "json" else logs.PlainFormatter()
    line = formatter.format(record("listening"))
    assert "[#" not in line and "message_id" not in line


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[web]\nmetrics_allow = ["localhost"]\n', "web.metrics_allow", "addresses or networks"),
        ('[log]\nformat = "xml"\n', "log.format", "plain"),
        ('[log]\nlevel = "loud"\n', "log.level", "debug"),
    ],
)
def test_config_errors_name_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    """A bad `web.metrics_allow`, `log.format` or `log.level` names the file, the key and
    what was expected."""
    path = tmp_path / "maildesk.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        config_mod.load(path)
    message = str(raised.value)
    assert str(path) in message and key in message and expected in message


def test_a_log_file_that_cannot_be_written_is_a_config_error(tmp_path: Path) -> None:
    """`[log] file` in a missing folder names the key and the path before anything runs."""
    path = tmp_path / "maildesk.toml"
    path.write_text('[log]\nfile = "missing/dir/maildesk.log"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"log\.file: expected a file maildesk may append to"):
        logs.apply(config_mod.load(path), cli_format=None, verbose=False)


@pytest.mark.parametrize(("verbose", "shown"), [(False, False), (True, True)])
def test_waitress_queue_warnings_only_with_verbose(
    monkeypatch: pytest.MonkeyPatch, verbose: bool, shown: bool
) -> None:
    """A line per request waiting for a thread is noise under load; its errors still show."""
    queue = logging.getLogger("waitress.queue")
    level = queue.level
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.NullHandler()])
    try:
        logs.setup(verbose=verbose)
        assert queue.isEnabledFor(logging.WARNING) is shown
        assert queue.isEnabledFor(logging.ERROR)
    finally:
        queue.setLevel(level)
