"""Import mail handed over by an MTA pipe or given as files (`maildesk ingest`).

Exit codes follow sysexits: 0 when stored (even if processing must be retried,
the mail is safe), 75 (EX_TEMPFAIL) when the MTA should keep it and retry.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from maildesk.context import Desk
from maildesk.errors import TemporaryError
from maildesk.inbound.accept import Accepted, accept

log = logging.getLogger(__name__)

EX_OK = 0
EX_NOINPUT = 66
EX_TEMPFAIL = 75


def ingest_stream(
    desk: Desk, stream: BinaryIO, *, envelope_from: str | None, recipients: Sequence[str]
) -> tuple[int, Accepted | None]:
    raw = stream.read()
    if not raw.strip():
        log.error("no message on standard input")
        return EX_NOINPUT, None
    try:
        accepted = accept(
            desk, raw, source="pipe", envelope_from=envelope_from, envelope_to=recipients
        )
    except TemporaryError as exc:
        log.error("not stored, the MTA should retry: %s", exc)
        return EX_TEMPFAIL, None
    return EX_OK, accepted


def ingest_files(
    desk: Desk, paths: Sequence[Path], *, backfill: bool = False
) -> tuple[int, list[tuple[Path, Accepted]]]:
    done: list[tuple[Path, Accepted]] = []
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            log.error("%s: %s", path, exc.strerror)
            return EX_NOINPUT, done
        try:
            done.append((path, accept(desk, raw, source="file", backfill=backfill)))
        except TemporaryError as exc:
            log.error("%s: not stored, try again: %s", path, exc)
            return EX_TEMPFAIL, done
    return EX_OK, done
