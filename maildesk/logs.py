"""The process's logging: plain lines or one JSON object a line, to stderr or a file.

Every line written while a mail or a ticket is being worked on says which: the
runner, the outbox and the ticket actions open `about(...)` around their work, and a
filter copies the ticket number and Message-Id onto each record (`[#12 <id@x>] ` in
plain lines, `ticket` and `message_id` keys in JSON). A Message-Id comes from a
stranger's mail: JSON escapes it, plain lines show its control characters escaped (and
indent any further line of a message), so no value can start a line of its own. The
file is a `WatchedFileHandler`: when logrotate moves it away the next line reopens the
path (no copytruncate, nothing lost).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import WatchedFileHandler
from pathlib import Path
from typing import TYPE_CHECKING

from maildesk.errors import ConfigError

if TYPE_CHECKING:
    from maildesk.config import Config

FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(about)s%(message)s"
# Libraries that log every step at INFO; their detail is for `-v`.
CHATTY_LOGGERS = ("alembic", "imapclient", "mail.log")
# waitress warns "Task queue depth is N" for each request that waits for a free thread:
# under load a line every few requests (2,200 in 5 s of the status page's benchmark),
# each formatted and written while requests wait. The page's latency histogram in
# /metrics tells the same; its errors remain, its warnings are for `-v`.
QUEUE_LOGGERS = ("waitress.queue",)

# Anything that could end or redraw a line: C0 and C1 controls, DEL, the Unicode line and
# paragraph separators (str.splitlines() breaks at all of them).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class _About:
    """What the current unit of work is about; the ticket may be learnt along the way."""

    ticket: int | None
    message_id: str | None


_ABOUT: ContextVar[_About | None] = ContextVar("maildesk_about", default=None)


@contextmanager
def about(*, ticket: int | None = None, message_id: str | None = None) -> Iterator[None]:
    """Lines logged inside carry this ticket number and Message-Id."""
    token = _ABOUT.set(_About(ticket, message_id or None))
    try:
        yield
    finally:
        _ABOUT.reset(token)


def note(*, ticket: int | None = None, message_id: str | None = None) -> None:
    """What the current work turned out to be about: its ticket, its mail's Message-Id
    once read. A no-op outside `about`, so a pass over many tickets never mislabels."""
    found = _ABOUT.get()
    if found is None:
        return
    if ticket is not None:
        found.ticket = ticket
    if message_id:
        found.message_id = message_id


def current() -> tuple[int | None, str | None]:
    """(ticket, message_id) of the work in hand, for tests and callers that log elsewhere."""
    found = _ABOUT.get()
    return (found.ticket, found.message_id) if found is not None else (None, None)


def _continued(message: str) -> str:
    """A message's own lines (the start-up banner has several) kept, each after the first
    indented, and every other control escaped: only a record starts a line at column 0."""
    first, *rest = message.split("\n")
    return "\n".join(
        [escape_controls(first)]
        + [line if line[:1].isspace() else "  " + line for line in map(escape_controls, rest)]
    )


def escape_controls(text: str) -> str:
    """`a\\r\\nb` -> `a\\\\x0d\\\\x0ab`: visible, and on one line."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class AboutFilter(logging.Filter):
    """Copies the current ticket and Message-Id onto every record the handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        ticket, message_id = current()
        record.ticket, record.message_id = ticket, message_id
        return True


class PlainFormatter(logging.Formatter):
    """`time LEVEL logger: [#12 <id@x>] message`; the Message-Id on one line, and any
    further line of the message indented."""

    def __init__(self) -> None:
        super().__init__(PLAIN)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        ticket = getattr(record, "ticket", None)
        message_id = getattr(record, "message_id", None)
        parts = ([f"#{ticket}"] if ticket is not None else []) + (
            [escape_controls(message_id)] if message_id else []
        )
        record.about = f"[{' '.join(parts)}] " if parts else ""
        record.message = _continued(record.message)
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, ticket, message_id."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ticket = getattr(record, "ticket", None)
        message_id = getattr(record, "message_id", None)
        if ticket is not None:
            data["ticket"] = ticket
        if message_id:
            data["message_id"] = message_id
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        # json.dumps escapes C0 controls; these three are left alone with ensure_ascii off
        # (kept off so that Ñ and accents stay readable) but split a line for some readers.
        text = json.dumps(data, ensure_ascii=False)
        return (
            text.replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")
            .replace("\x85", "\\u0085")
        )


class _Handler:
    """Marks the handler this module installed, so setting up again replaces only it."""

    installed: logging.Handler | None = None


def setup(
    fmt: str = "plain",
    *,
    level: int = logging.INFO,
    file: Path | None = None,
    verbose: bool = False,
) -> None:
    """Install (or replace) the process's handler on the root logger.

    Like `logging.basicConfig`, it leaves alone a root logger someone else already
    equipped (a test runner's capture, an embedding program).
    """
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    for name in QUEUE_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.ERROR)
    root = logging.getLogger()
    if any(h is not _Handler.installed for h in root.handlers):
        return
    handler: logging.Handler
    if file is not None:
        handler = WatchedFileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(AboutFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    if _Handler.installed is not None:
        root.removeHandler(_Handler.installed)
        _Handler.installed.close()
    root.addHandler(handler)
    _Handler.installed = handler
    root.setLevel(logging.DEBUG if verbose else level)


def apply(config: Config, *, cli_format: str | None, verbose: bool) -> None:
    """The configuration's `[log]` table, under the command line's `--log-format` and `-v`."""
    log = config.log
    file = None
    if log.file:
        file = Path(log.file)
        if not file.is_absolute():
            file = config.base_dir / file
        try:
            file.open("a", encoding="utf-8").close()
        except OSError as exc:
            raise ConfigError(
                config.source,
                "log.file",
                "a file maildesk may append to",
                f"{file} ({exc.strerror})",
            ) from exc
    setup(
        cli_format or log.format,
        level=logging.getLevelNamesMapping()[log.level.upper()],
        file=file,
        verbose=verbose,
    )
