"""Store a raw mail once, before anything else is done with it.

Two keys make a store idempotent: where the mail came from (`source_key`, e.g.
the mailbox's UIDVALIDITY:UID) and what it is (`dedupe_key`: its Message-ID plus
a hash of its content, so the same mail fetched twice or delivered by two routes
is stored once, while a client that reuses Message-IDs for different mails loses
nothing).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from sqlite3 import Blob
from typing import Any, BinaryIO, cast

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from maildesk.clock import Clock
from maildesk.db import Database
from maildesk.errors import TemporaryError
from maildesk.inbound.lease import Lease
from maildesk.inbound.sources.imap import Backfill, Fetched, Position
from maildesk.models import Inbound, InboundRaw, MailboxPosition
from maildesk.storage import BlobStore, disk_full_is_temporary

PENDING, PROCESSED, IGNORED, QUARANTINED = "pending", "processed", "ignored", "quarantined"

_HEADER_END = re.compile(rb"\r?\n\r?\n")
PIECE = 1024 * 1024
"""A raw mail is hashed, written and read back this much at a time. On SQLite it is never
bound whole (the cached statement would keep a copy of it until its next use) nor fetched
whole (the driver holds it twice)."""
_IDENTITY_HEADERS = ("message-id", "from", "subject", "date")


def dedupe_key(raw: bytes) -> str:
    """Message-ID, From, Subject, Date and the body's hash, hashed together.

    Trace headers (Received, Delivered-To, Return-Path) are left out on purpose:
    they differ between two deliveries of the same mail.
    """
    match = _HEADER_END.search(raw)
    head_end, body_start = (match.start(), match.end()) if match else (len(raw), len(raw))
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:head_end] + b"\n\n")
    digest = hashlib.sha256()
    for name in _IDENTITY_HEADERS:
        digest.update(
            name.encode()
            + b":"
            + str(headers.get(name, "")).strip().encode("utf-8", "surrogateescape")
            + b"\n"
        )
    digest.update(_body_digest(memoryview(raw)[body_start:]))
    return digest.hexdigest()


def _body_digest(body: memoryview) -> bytes:
    """The SHA-256 of the body with CRLF read as LF, a `PIECE` at a time (no whole copy)."""
    digest = hashlib.sha256()
    carry = b""
    for start in range(0, len(body), PIECE):
        piece = carry + bytes(body[start : start + PIECE])
        carry = b"\r" if piece.endswith(b"\r") else b""  # its LF may open the next piece
        digest.update(piece[: len(piece) - len(carry)].replace(b"\r\n", b"\n"))
    digest.update(carry)
    return digest.digest()


@dataclass(frozen=True, slots=True)
class Stored:
    inbound_id: int
    created: bool


def store(
    session: Session,
    *,
    desk_id: int,
    raw: bytes,
    source: str,
    now: datetime,
    source_key: str | None = None,
    envelope_from: str | None = None,
    envelope_to: Sequence[str] = (),
    backfill: bool = False,
) -> Stored:
    """Record the raw mail unless it is already here; never commits."""
    key = dedupe_key(raw)
    condition = Inbound.dedupe_key == key
    if source_key is not None:
        condition = or_(condition, Inbound.source_key == source_key)
    existing = session.scalars(
        select(Inbound.id).where(Inbound.desk_id == desk_id, condition).limit(1)
    ).first()
    if existing is not None:
        return Stored(existing, created=False)
    row = Inbound(
        desk_id=desk_id,
        source=source,
        source_key=source_key,
        dedupe_key=key,
        size=len(raw),
        envelope_from=envelope_from,
        envelope_to=",".join(envelope_to),
        received_at=now,
        backfill=backfill,
        status=PENDING,
        attempts=0,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            _write_raw(session, row.id, raw)
    except IntegrityError:
        # Another worker stored the same mail between our look-up and insert.
        winner = session.scalars(
            select(Inbound.id).where(Inbound.desk_id == desk_id, condition).limit(1)
        ).one()
        return Stored(winner, created=False)
    return Stored(row.id, created=True)


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


@dataclass(frozen=True, slots=True)
class _Place:
    """A table that holds raw mails, its column and the key that is the mail's id (on
    SQLite the rowid, which its incremental blob I/O needs)."""

    table: str
    raw: InstrumentedAttribute[bytes]
    key: InstrumentedAttribute[int]


_RAW_TABLE = _Place("inbound_raw", InboundRaw.raw, InboundRaw.inbound_id)
_INBOUND_ROW = _Place("inbound", Inbound.raw, Inbound.id)
"""Where mail pending at the upgrade to 0019 stays, and where the previous release's
workers store it until they are restarted."""


def _write_raw(session: Session, inbound_id: int, raw: bytes) -> None:
    """The mail's row of `inbound_raw`, sent a `PIECE` at a time: on SQLite a zeroblob then
    filled; on PostgreSQL one COPY (the driver's connection would keep a buffer the size of
    an INSERT that carried the mail, for as long as it stays open)."""
    view = memoryview(raw)
    if not _sqlite(session):
        _copy_postgres(session, inbound_id, view)
        return
    session.execute(insert(InboundRaw).values(inbound_id=inbound_id, raw=func.zeroblob(len(raw))))
    with _sqlite_blob(session, _RAW_TABLE, inbound_id, readonly=False) as blob:
        for start in range(0, len(view), PIECE):
            blob.write(view[start : start + PIECE])


def _copy_postgres(session: Session, inbound_id: int, raw: memoryview) -> None:
    """COPY's text format: the bytea as `\\x` and hex, written a `PIECE` at a time. The
    driver's own errors are not SQLAlchemy's: a lost server is made temporary here."""
    import psycopg

    driver = cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)
    statement = "COPY inbound_raw (inbound_id, raw) FROM STDIN"
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(f"{inbound_id}\t\\\\x".encode())
            for start in range(0, len(raw), PIECE):
                copy.write(raw[start : start + PIECE].hex().encode())
            copy.write(b"\n")
    except psycopg.OperationalError as exc:
        raise TemporaryError(f"database unavailable: {exc}") from exc


def _sqlite_blob(session: Session, place: _Place, inbound_id: int, *, readonly: bool) -> Blob:
    """SQLite's incremental I/O on a stored raw mail, in the session's transaction."""
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver.blobopen(place.table, "raw", inbound_id, readonly=readonly)


def raw_file(session: Session, blobs: BlobStore, inbound_id: int) -> BinaryIO:
    """A stored raw mail copied a `PIECE` at a time into a scratch file, at its start.

    The reader child reads the file, so this process never holds the mail; a full disk
    is a `TemporaryError`. The mail is looked for in `inbound_raw` first, then in its
    `inbound` row (mail kept there by the upgrade to 0019), with no query to ask where.
    """
    with disk_full_is_temporary():
        copy = blobs.scratch()
        try:
            for place in (_RAW_TABLE, _INBOUND_ROW):
                if _copy_from(session, place, inbound_id, copy):
                    break
            copy.flush()
            copy.seek(0)
        except BaseException:
            copy.close()
            raise
    return copy


def _copy_from(session: Session, place: _Place, inbound_id: int, copy: BinaryIO) -> bool:
    """Copy the mail from `place` into `copy`; False when it is not there. On PostgreSQL
    the first piece comes with the size, so a mail under a `PIECE` takes one query."""
    if _sqlite(session):
        try:
            blob = _sqlite_blob(session, place, inbound_id, readonly=True)
        except sqlite3.OperationalError:  # no such row
            return False
        with blob:
            while piece := blob.read(PIECE):
                copy.write(piece)
        return True
    first = (
        session.connection()
        .execute(
            select(func.length(place.raw), func.substr(place.raw, 1, PIECE)).where(
                place.key == inbound_id
            )
        )
        .first()
    )
    if first is None or first[0] is None:
        return False
    size, piece = first
    copy.write(piece)
    for start in range(1 + PIECE, size + 1, PIECE):
        copy.write(
            session.connection()
            .execute(select(func.substr(place.raw, start, PIECE)).where(place.key == inbound_id))
            .scalar_one()
        )
    return True


class DatabaseMailboxStore:
    """The IMAP watcher's store: raw mails and the folder position in one transaction.

    With a `lease`, that transaction also renews it, and rolls back if another worker
    has taken the mailbox meanwhile: a fetcher that lost its lease stores nothing.
    """

    def __init__(
        self, db: Database, desk_id: int, clock: Clock, blobs: BlobStore, lease: Lease | None = None
    ) -> None:
        self.db = db
        self.desk_id = desk_id
        self.clock = clock
        self.blobs = blobs
        self.lease = lease

    def position(self, mailbox: str) -> Position | None:
        with self.db.read_only() as session:
            row = session.get(MailboxPosition, mailbox)
            if row is None:
                return None
            backfill = (
                Backfill(row.backfill_below_uid, row.backfill_before)
                if row.backfill_below_uid is not None
                else None
            )
            return Position(row.uidvalidity, row.last_uid, row.checked_at, backfill)

    def store(
        self,
        mailbox: str,
        uidvalidity: int,
        mails: Sequence[Fetched],
        last_uid: int,
        *,
        backfill: bool,
        pending: Backfill | None = None,
    ) -> None:
        now = self.clock.now()
        with disk_full_is_temporary():
            self.blobs.check_room(sum(len(mail.raw) for mail in mails))
        with self.db.transaction() as session:
            if self.lease is not None:
                self.lease.renew_in(session)
            for mail in mails:
                store(
                    session,
                    desk_id=self.desk_id,
                    raw=mail.raw,
                    source="imap",
                    source_key=f"{mailbox};{uidvalidity}:{mail.uid}",
                    backfill=backfill,
                    now=now,
                )
            row = session.get(MailboxPosition, mailbox)
            if row is None:
                row = MailboxPosition(mailbox=mailbox)
                session.add(row)
            row.uidvalidity, row.last_uid, row.checked_at = uidvalidity, last_uid, now
            row.backfill_below_uid = pending.below_uid if pending is not None else None
            row.backfill_before = pending.before if pending is not None else None

    def count_reconnect(self, mailbox: str) -> None:
        """One more connection made again to `mailbox` (its position row, once it has one)."""
        with self.db.transaction() as session:
            session.execute(
                update(MailboxPosition)
                .where(MailboxPosition.mailbox == mailbox)
                .values(reconnects=MailboxPosition.reconnects + 1)
            )
