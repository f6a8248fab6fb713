"""The persistent outbox: mail is enqueued with the change that causes it and sent later.

`enqueue` runs inside the caller's transaction, so a mail exists exactly when the
ticket change that caused it was committed; it keeps the mail's draft, and the
worker builds the bytes (`draft.py`) before the first try and keeps them with that
try's outcome. `send_due` claims due rows, sends
outside any transaction, then marks them sent, or backs off, or gives up after
`max_attempts` (dead letter). The relay's 250 is first noted in a file
(`receipts.py`, no database lock to wait for), then marked in one short UPDATE, so
a crash in between does not send the mail again.

Automatic mail to any one address is capped per hour; past the cap it is kept as
`suppressed` (never lost) and an admin is told once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, inspect, or_, select, update
from sqlalchemy.orm import Session

from maildesk import logs
from maildesk.clock import Clock
from maildesk.db import Database
from maildesk.errors import PermanentError, RecipientRefused, TemporaryError
from maildesk.models import Outbox, Participant, Ticket
from maildesk.outbound import doorbell
from maildesk.outbound.draft import Draft, bytes_of
from maildesk.outbound.receipts import Receipts
from maildesk.outbound.transports import Transport
from maildesk.storage import BlobStore

log = logging.getLogger(__name__)

PENDING, SENT, DEAD, SUPPRESSED = "pending", "sent", "dead", "suppressed"
CLAIM_FRESH = timedelta(seconds=1)
"""A claimed row sent this soon after its claim is surely still this worker's (the lease
is a whole send longer than this); a later one's claim is renewed first (`_keep_claim`)."""

# (session, the row given up, the relay's words, now): an address refused for good.
OnRefused = Callable[[Session, Outbox, str, datetime], None]


def backoff(attempts: int) -> timedelta:
    """1 min, 2, 4, … capped at 2 h between tries."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 7200))


def automatic_sent_recently(session: Session, recipient: str, now: datetime) -> int:
    """Automatic mail to `recipient` in the last hour, counting what this session queued
    and has not written yet (instead of flushing every pending row of the ticket first;
    the count runs on the session's connection, without the ORM's bookkeeping)."""
    written = session.connection().scalar(
        select(func.count(Outbox.id)).where(
            Outbox.recipient == recipient,
            Outbox.automatic.is_(True),
            Outbox.status != SUPPRESSED,
            Outbox.created_at > now - timedelta(hours=1),
        )
    )
    pending = sum(
        1
        for row in session.new
        if isinstance(row, Outbox)
        and row.recipient == recipient
        and row.automatic
        and row.status != SUPPRESSED
        and row.created_at > now - timedelta(hours=1)
    )
    return (written or 0) + pending


def bouncing(session: Session, ticket: Ticket, recipient: str) -> bool:
    """Is `recipient` a participant of the ticket whose address the relay refused?

    A ticket whose participants this session holds already (a new ticket, or one whose
    list was read) is answered from them: every participant added or flagged in the
    session is among them. Otherwise it is read without flushing the session: a
    participant added in it is not bouncing yet, and one flagged in it is the session's
    own object, flag included."""
    if "participants" in inspect(ticket).dict:
        return any(p.email == recipient and p.bouncing for p in ticket.participants)
    with session.no_autoflush:
        found = session.scalar(
            select(Participant).where(
                Participant.ticket_id == ticket.id, Participant.email == recipient
            )
        )
    return found is not None and found.bouncing


@dataclass(frozen=True, slots=True)
class Enqueued:
    row: Outbox
    suppressed_count: int | None  # set when the cap held this mail back


def enqueue(
    session: Session,
    draft: Draft,
    *,
    raw: bytes | None = None,
    desk_id: int,
    ticket: Ticket | None,
    kind: str,
    recipient: str,
    envelope_from: str,
    automatic: bool,
    now: datetime,
    cap_per_hour: int,
    ref: str = "",
) -> Enqueued:
    """Add a mail to the outbox in the caller's transaction: its draft, and its bytes
    when the caller had to build them (files recorded nowhere)."""
    recipient = recipient.lower()
    held: int | None = None
    why_held = ""
    if automatic:
        count = automatic_sent_recently(session, recipient, now)
        if count >= cap_per_hour:
            held = count
            why_held = f"held: {held} automatic mails to this address in the last hour"
    if ticket is not None and bouncing(session, ticket, recipient):
        why_held = "held: the relay refused this address before (bouncing)"
    row = Outbox(
        desk_id=desk_id,
        ticket_id=ticket.id if ticket is not None else None,
        kind=kind,
        recipient=recipient,
        envelope_from=envelope_from,
        mid=draft.message_id,
        raw=raw,
        draft=draft.to_json(),
        automatic=automatic,
        status=SUPPRESSED if why_held else PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error=why_held,
        created_at=now,
        ref=ref,
    )
    session.add(row)
    if row.status == PENDING:
        doorbell.mark_queued(session)
    return Enqueued(row, held)


def notice_sent_recently(session: Session, kind: str, ref: str, now: datetime) -> bool:
    """Has a notice of `kind` about `ref` been queued in the last hour?"""
    return (
        session.scalar(
            select(Outbox.id)
            .where(
                Outbox.kind == kind, Outbox.ref == ref, Outbox.created_at > now - timedelta(hours=1)
            )
            .limit(1)
        )
        is not None
    )


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0


def _claim(
    db: Database, desk_id: int, now: datetime, limit: int, lease: timedelta
) -> tuple[list[int], datetime]:
    """Take this desk's due rows for `lease`; SKIP LOCKED lets several workers share the queue.

    Only `desk_id`'s rows: the worker sends through that desk's relay, and another
    building's mail must leave through its own. A worker killed while holding a claim
    delays those mails by at most `lease`. The ids, and the claim's end, which is also
    its mark: a row still carrying it is still this worker's (`_keep_claim`).
    """
    until = now + lease
    with db.transaction() as session:
        query = (
            select(Outbox)
            .where(
                Outbox.desk_id == desk_id,
                Outbox.status == PENDING,
                Outbox.next_attempt_at <= now,
                or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now),
            )
            .order_by(Outbox.next_attempt_at, Outbox.id)
            .limit(limit)
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            row.claimed_until = until
        return [row.id for row in rows], until


def _keep_claim(
    db: Database, row_id: int, until: datetime, now: datetime, lease: timedelta
) -> bool:
    """Renew this worker's claim of one row before its send; False when it is no longer ours.

    A claim covers a batch sent one mail after another, and a slow relay can outlast it:
    past `until` another worker may claim the rest, and sending them here too would send
    them twice. The row still carries this claim's mark only if nobody took it since.
    """
    with db.transaction() as session:
        renewed = session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == PENDING, Outbox.claimed_until == until)
            .values(claimed_until=now + lease)
        )
        return bool(renewed.rowcount)  # type: ignore[attr-defined]


def _settle(db: Database, receipts: Receipts, blobs: BlobStore, now: datetime) -> int:
    """Record as sent every mail the relay accepted before a crash cut its record short
    (with its bytes, built again from its draft when that try's were never kept)."""
    noted = receipts.noted()
    if not noted:
        return 0
    with db.transaction() as session:
        rows = session.scalars(select(Outbox).where(Outbox.id.in_(noted))).all()
        settled = [row for row in rows if row.mid == noted[row.id] and row.status == PENDING]
        for row in settled:
            row.raw = bytes_of(session, blobs, row)
            row.status, row.sent_at, row.last_error, row.claimed_until = SENT, now, "", None
            row.attempts += 1
    for row_id in noted:
        receipts.forget(row_id)
    return len(settled)


def _mark_sent(db: Database, row_id: int, now: datetime, raw: bytes | None) -> None:
    """One short UPDATE and its commit: the only work between the relay's 250 and its record.

    `raw` is the bytes built for this first try, kept with it (None: kept already)."""
    built = {} if raw is None else {"raw": raw}
    with db.transaction() as session:
        session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(
                status=SENT,
                sent_at=now,
                last_error="",
                claimed_until=None,
                attempts=Outbox.attempts + 1,
                **built,
            )
        )


def _send_one(
    db: Database,
    transport: Transport,
    clock: Clock,
    receipts: Receipts,
    blobs: BlobStore,
    row_id: int,
    max_attempts: int,
    on_refused: OnRefused,
) -> str:
    """Build a claimed mail if it is not built yet, send it outside any transaction,
    then record what became of it (and the bytes, when built here)."""
    refused: PermanentError | None = None
    with db.read_only() as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        envelope_from, recipient, mid = row.envelope_from, row.recipient, row.mid
        fresh = row.raw is None
        number = (
            session.scalar(select(Ticket.number).where(Ticket.id == row.ticket_id))
            if row.ticket_id is not None
            else None
        )
        try:
            raw = bytes_of(session, blobs, row)
        except OSError:  # the blob store: maybe a full or missing disk, tried again later
            raise
        except Exception as exc:  # noqa: BLE001 - a draft that cannot be built never will be
            raw, refused = b"", PermanentError(f"not built: {exc}")
    built = raw if fresh and refused is None else None
    with logs.about(ticket=number, message_id=mid):
        try:
            if refused is not None:
                raise refused
            transport.send(envelope_from, [recipient], raw)
        except (TemporaryError, PermanentError) as exc:
            return _record_failure(db, clock.now(), row_id, exc, max_attempts, on_refused, built)
        receipts.note(row_id, mid)
        _mark_sent(db, row_id, clock.now(), built)
        receipts.forget(row_id)
        log.info("outbox %s to %s sent", row_id, recipient)
        return SENT


def _record_failure(
    db: Database,
    now: datetime,
    row_id: int,
    error: Exception,
    max_attempts: int,
    on_refused: OnRefused,
    raw: bytes | None = None,
) -> str:
    """Back off or give up; keep the bytes built for this try, so a retry sends them again."""
    with db.transaction() as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        if raw is not None:
            row.raw = raw
        row.attempts += 1
        row.claimed_until = None
        if isinstance(error, PermanentError) or row.attempts >= max_attempts:
            row.status, row.last_error = DEAD, str(error)
            log.error("outbox %s to %s given up: %s", row.id, row.recipient, error)
            if isinstance(error, RecipientRefused) and row.ticket_id is not None:
                on_refused(session, row, str(error), now)
            return DEAD
        row.next_attempt_at, row.last_error = now + backoff(row.attempts), str(error)
        log.warning("outbox %s to %s will be retried: %s", row.id, row.recipient, error)
        return PENDING


def send_due(
    db: Database,
    transport: Transport,
    clock: Clock,
    receipts: Receipts,
    blobs: BlobStore,
    *,
    desk_id: int,
    max_attempts: int,
    lease: timedelta,
    limit: int = 20,
    stop: Callable[[], bool] = lambda: False,
    on_refused: OnRefused = lambda session, row, error, now: None,
) -> SendReport:
    """Everything of `desk_id` that is due, claimed `limit` at a time, until none is left.

    A mail that fails is backed off past now, so the loop cannot take it twice;
    `stop` ends it between batches (the daemon's shutdown). The transport's batch
    keeps one relay connection for the whole run. `on_refused` hears, in the
    transaction that gives the mail up, of an address the relay refused for good
    (the caller flags it on the ticket: only `tickets/` changes tickets).
    """
    report = SendReport(sent=_settle(db, receipts, blobs, clock.now()))
    with transport.batch():
        while not stop():
            claimed, until = _claim(db, desk_id, clock.now(), limit, lease)
            if not claimed:
                break
            for row_id in claimed:
                # Within a second of the claim it holds for a whole send; after, renew it.
                fresh = clock.now() < until - lease + CLAIM_FRESH
                if not fresh and not _keep_claim(db, row_id, until, clock.now(), lease):
                    continue  # another worker took it over (sent, or sending) meanwhile
                outcome = _send_one(
                    db, transport, clock, receipts, blobs, row_id, max_attempts, on_refused
                )
                if outcome == SENT:
                    report.sent += 1
                elif outcome == DEAD:
                    report.dead += 1
                else:
                    report.retried += 1
    return report


@dataclass(frozen=True, slots=True)
class RetryResult:
    due: list[int]  # made due now
    refused: dict[int, str]  # id -> why it cannot be retried (sent, suppressed, no such mail)


def retry(db: Database, desk_id: int, now: datetime, ids: Sequence[int] | None) -> RetryResult:
    """Make pending (backing off) and dead mail due now; dead mail starts its attempts afresh.

    `ids` None means every pending or dead mail of the desk: what an operator runs after
    fixing the relay.
    """
    result = RetryResult([], {})
    with db.transaction() as session:
        query = select(Outbox).where(Outbox.desk_id == desk_id).order_by(Outbox.id)
        if ids is None:
            query = query.where(Outbox.status.in_((PENDING, DEAD)))
        else:
            query = query.where(Outbox.id.in_(ids))
        rows = {row.id: row for row in session.scalars(query)}
        for row_id in sorted(rows) if ids is None else ids:
            row = rows.get(row_id)
            if row is None:
                result.refused[row_id] = "no such mail"
            elif row.status not in (PENDING, DEAD):
                result.refused[row_id] = row.status
            else:
                if row.status == DEAD:
                    row.status, row.attempts, row.claimed_until = PENDING, 0, None
                row.next_attempt_at = now
                result.due.append(row_id)
    return result


PRUNE_BATCH = 200


def prune_sent(db: Database, now: datetime, keep_days: int) -> int:
    """Drop the bodies of mail sent more than `keep_days` ago; keep each row and its headers.

    A sent body is never read again (a retry resends only unsent rows), yet each one
    holds every attachment it carried; the headers, recipient and times stay for the
    record. One short transaction per batch, so the intake never waits long, and each
    batch a seek of the index on (status, pruned_at, sent_at): the pass reads the mail
    whose time came, not every row the outbox ever held.
    """
    if keep_days <= 0:
        return 0
    before = now - timedelta(days=keep_days)
    pruned = 0
    while True:
        with db.transaction() as session:
            rows = session.scalars(
                select(Outbox)
                .where(Outbox.status == SENT, Outbox.pruned_at.is_(None), Outbox.sent_at <= before)
                .order_by(Outbox.sent_at)
                .limit(PRUNE_BATCH)
            ).all()
            for row in rows:
                head = bytes(row.raw or b"").partition(b"\r\n\r\n")[0]
                row.raw, row.draft = head + b"\r\n\r\n", None
                row.pruned_at = now
        pruned += len(rows)
        if len(rows) < PRUNE_BATCH:
            return pruned
