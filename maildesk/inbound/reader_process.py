"""Read mail in a child process with a memory and a time limit, so no mail can kill the desk.

A hostile mail (a winmail.dat of 100,000 files, a decompression bomb in a parser we
use) may take gigabytes or minutes to read. Reading it in the daemon's own process
would let the OOM killer take the listener and the page with it, and a restart would
read it again. Here one child process (`python -m maildesk.inbound.reader_process`, a
fresh interpreter that shares no locks or sockets with the daemon and never re-runs
its main module) reads every mail under `RLIMIT_AS` and a deadline. It is
reused from mail to mail, so the normal path pays a pipe round trip, not a start;
a child that overruns is killed and replaced, and the mail's try fails with
`ReadFailed`, whose text says why.

A mail may be 30 MB, so none is copied whole through the pipe: the child is handed the
descriptor of a file holding the mail (`inbound.store.raw_file`) and reads it a piece at
a time, and it sends back the parsed mail without its files' bytes, then each file's
bytes as they are (pickled, each would be copied once more on both sides).
"""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
from typing import TYPE_CHECKING, BinaryIO

from maildesk.domain import Attachment, ParsedMail
from maildesk.mime.limits import MB, ParseLimits

if TYPE_CHECKING:
    from maildesk.config import LimitsConfig

Reader = Callable[[BinaryIO, ParseLimits], ParsedMail]


class ReadFailed(Exception):
    """The child could not read the mail within its limits (or died trying)."""


@dataclass(frozen=True, slots=True)
class ReadSettings:
    """What one child is started with; a different setting needs another child."""

    limits: ParseLimits
    memory_bytes: int
    seconds: float
    # None: `parse_mail`, imported by the child alone; the daemon never parses a mail,
    # so it does not keep mail-parser and the HTML and TNEF readers in its memory.
    reader: Reader | None = None

    @classmethod
    def from_config(cls, limits: LimitsConfig) -> ReadSettings:
        return cls(
            ParseLimits(limits.parts, limits.depth, limits.files, limits.decoded_mb * MB),
            limits.parse_memory_mb * MB,
            float(limits.parse_seconds),
        )


READY = "ready"
START_SECONDS = 60.0
"""How long a new child may take to import what it reads with, before its first mail."""


def _serve(conn: Connection) -> None:
    """The child: take its settings, limit its memory, then read mails until closed."""
    settings: ReadSettings = conn.recv()
    reader = settings.reader or _parse_mail()
    resource.setrlimit(resource.RLIMIT_AS, (settings.memory_bytes, settings.memory_bytes))
    conn.send(READY)
    while True:
        try:
            fd = recv_handle(conn)
        except (EOFError, OSError):
            return
        try:
            with open(fd, "rb") as raw:
                mail = reader(raw, settings.limits)
        except MemoryError:
            conn.send(("failed", f"out of memory (limit {settings.memory_bytes // MB} MB)"))
            return  # a process that ran out of memory is not trusted with the next mail
        # Past the "ok", a failure ends the child: the parent reads its death, never half a mail.
        conn.send(("ok", replace(mail, attachments=_without_bytes(mail))))
        for attachment in mail.attachments:
            conn.send_bytes(attachment.data)


def _parse_mail() -> Reader:
    from maildesk.inbound.parse import parse_mail

    return parse_mail


class ReaderProcess:
    """One reusable child that reads mails; thread-safe (one mail at a time)."""

    def __init__(self, settings: ReadSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def read(self, raw: BinaryIO) -> ParsedMail:
        """The parsed mail, or `ReadFailed` when the child overran its limits or died.

        `raw` is a file holding the mail (it has a descriptor); it stays the caller's.
        """
        with self._lock:
            conn, process = self._started()
            try:
                raw.flush()
                send_handle(conn, raw.fileno(), process.pid)
                if not conn.poll(self.settings.seconds):
                    self._stop()
                    raise ReadFailed(
                        f"reading took over {self.settings.seconds:g} s; the reader was stopped"
                    )
                status, value = conn.recv()
                if status == "ok":
                    files = tuple(replace(a, data=conn.recv_bytes()) for a in value.attachments)
                    value = replace(value, attachments=files)
            except (EOFError, OSError):
                reason = _death(_exit_code(process), self.settings.memory_bytes)
                self._stop()
                raise ReadFailed(reason) from None
            if status != "ok":
                self._stop()
                raise ReadFailed(str(value))
            assert isinstance(value, ParsedMail)
            return value

    def _started(self) -> tuple[Connection, subprocess.Popen[bytes]]:
        if self._process is None or self._conn is None or self._process.poll() is not None:
            self._stop()
            ours, theirs = socket.socketpair()
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
            theirs.close()
            conn = Connection(ours.detach())
            self._process, self._conn = process, conn
            conn.send(self.settings)
            # The time limit is the mail's: a child slow to start on a busy machine must not
            # cost an innocent mail its try, so the clock starts once the child is ready.
            try:
                ready = conn.poll(START_SECONDS) and conn.recv() == READY
            except (EOFError, OSError):
                ready = False
            if not ready:
                self._stop()
                raise ReadFailed(f"the reader did not start within {START_SECONDS:g} s")
        return self._conn, self._process

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(timeout=5)
        self._process = self._conn = None

    def close(self) -> None:
        with self._lock:
            self._stop()


def _without_bytes(mail: ParsedMail) -> tuple[Attachment, ...]:
    return tuple(replace(attachment, data=b"") for attachment in mail.attachments)


def _exit_code(process: subprocess.Popen[bytes]) -> int | None:
    try:
        return process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return None


def _death(exitcode: int | None, memory_bytes: int) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return f"the reader was killed by {name} (memory limit {memory_bytes // MB} MB)"
    return f"the reader died (exit code {exitcode}; memory limit {memory_bytes // MB} MB)"


_readers: dict[ReadSettings, ReaderProcess] = {}
_readers_lock = threading.Lock()


def reader_for(limits: LimitsConfig) -> ReaderProcess:
    """The process-wide reader for these limits: every desk with the same limits shares it."""
    settings = ReadSettings.from_config(limits)
    with _readers_lock:
        found = _readers.get(settings)
        if found is None:
            found = _readers[settings] = ReaderProcess(settings)
        return found


def close_all() -> None:
    """Stop every reader child (the daemon's shutdown)."""
    with _readers_lock:
        readers = list(_readers.values())
        _readers.clear()
    for reader in readers:
        reader.close()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
