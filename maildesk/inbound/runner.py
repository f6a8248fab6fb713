"""Turn stored raw mails into tickets: each mail all or nothing.

The pipeline for one mail is parse -> rules -> thread -> open or append ->
confirm -> mark processed. Outcomes are decided in one place (`dispatch.py`); errors
are mapped in one place (`process_one`). Each try is counted in its own short
transaction BEFORE the work, so a mail that kills the process (the OOM killer,
SIGKILL) still uses up its tries; the mail is read in a child process with a memory
and time limit (`reader_process.py`), then dispatched in one transaction. A
temporary error (database gone, disk full) gives the try back and leaves the mail
pending; anything else is a failed try, and after `[limits] attempts` tries the mail
is quarantined with its reason so the queue moves on. A try the process never came back
from is followed by a wait before the next (`next_attempt`), so that the quick kills of
a crash loop do not each meet the one innocent mail a kill happened to interrupt.

A backlog (the mailbox's batch, mail stored while the desk was down) is worked in
batches (`process_batch`): tries are counted `CLAIM` mails at a time in a short
transaction, the child reads the next batch while this process dispatches one, and the
mails are dispatched in a transaction per `BATCH_SECONDS` with a savepoint each, so a
failing mail is rolled back alone. A process killed mid-batch takes a try from each mail
claimed and not committed; those, being tried, are then worked one transaction each
(`pending`), so a mail that kills the process can only ever kill itself.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from maildesk import logs
from maildesk.clock import as_utc
from maildesk.context import Desk
from maildesk.domain import MailKind, ParsedMail
from maildesk.errors import IgnoreMail, TemporaryError
from maildesk.inbound import store as ingest
from maildesk.inbound.dispatch import analyse, dispatch, read_mail
from maildesk.inbound.reader_process import ReadFailed, reader_for
from maildesk.models import Inbound
from maildesk.progress import Progress
from maildesk.storage import disk_full_is_temporary

log = logging.getLogger(__name__)

LOCK_MAIL = 7275  # with the mail's id: the advisory lock of a mail being worked

UNFINISHED = (
    "try {n} did not finish: the process ended while working on it (killed or out of memory)"
)
BATCH = 50
"""Fresh mails dispatched in one transaction: the commit is paid once, and SQLite's write
lock is held for about this many mails' work."""
CLAIM = 10
"""Tries are counted this many mails at a time: a process killed mid-batch costs a try to
the mails claimed and not yet committed, never to the whole batch."""
BATCH_SECONDS = 0.25
"""A batch's transaction commits once it has worked this long, and the next one goes on."""
BATCH_BYTES = 16 * 1024 * 1024
"""And at most about this much raw mail a batch (two batches are in memory at once)."""
RETRY_WAIT = timedelta(seconds=10)
"""The wait after a first try that did not finish; three times longer after each further
one, up to `RETRY_WAIT_MOST`. A restart takes seconds: the kills of a crash loop come
faster than this, and meet fresh mail instead of the mail they interrupted before."""
RETRY_WAIT_MOST = timedelta(minutes=15)


def next_attempt(now: datetime, attempts: int, limit: int) -> datetime | None:
    """When a mail may be tried again should its try number `attempts`, counted `now`, not
    finish; None after the last try, whose end (the quarantine) is due at once.

    Only a try the process never came back from waits: a failure it lived to record is
    retried at the next pass, as the mail's own fault repeats at once.
    """
    if attempts >= limit:
        return None
    return now + min(RETRY_WAIT * int(3 ** (attempts - 1)), RETRY_WAIT_MOST)


def _lock_pending(session: Session, desk: Desk, inbound_ids: Sequence[int]) -> dict[int, Inbound]:
    """The mails of `inbound_ids` still pending, locked for this transaction (on
    PostgreSQL; SQLite's transaction holds the write lock), by id."""
    query = select(Inbound).where(Inbound.id.in_(inbound_ids), Inbound.status == ingest.PENDING)
    if desk.db.is_postgres:
        query = query.with_for_update(skip_locked=True)
    return {row.id: row for row in session.scalars(query)}


def _status(session: Session, inbound_id: int) -> str:
    return session.scalar(select(Inbound.status).where(Inbound.id == inbound_id)) or "missing"


def _claim(desk: Desk, inbound_id: int) -> BinaryIO | str:
    """Count this try and hand back the raw mail in a file (`ingest.raw_file`); or the status
    when there is nothing to do.

    A mail whose tries are used up (the last one never came back) is quarantined here,
    before any work, so a mail that kills the process cannot crash-loop the daemon.
    """
    with desk.db.transaction() as session:
        row = _lock_pending(session, desk, [inbound_id]).get(inbound_id)
        if row is None:
            return _status(session, inbound_id)
        if row.attempts >= desk.config.limits.attempts:
            row.status = ingest.QUARANTINED
            row.reason = f"failed {row.attempts} times: {row.last_error}"
            log.error("mail %s quarantined: %s", inbound_id, row.reason)
            return row.status
        _count_try(desk, row)
        return ingest.raw_file(session, desk.blobs, inbound_id)


def _count_try(desk: Desk, row: Inbound) -> None:
    """Count a try before its work, as one that did not finish until it does."""
    row.attempts += 1
    row.last_error = UNFINISHED.format(n=row.attempts)
    row.next_attempt_at = next_attempt(desk.clock.now(), row.attempts, desk.config.limits.attempts)


def process_one(desk: Desk, inbound_id: int) -> str:
    """Process one stored mail; returns its status afterwards.

    On PostgreSQL several workers work the same queue: the mail's advisory lock keeps a
    second one from counting a try of a mail already in hand (three would quarantine it).
    Every line logged meanwhile names the mail's Message-Id and ticket (`logs.about`).
    """
    with (
        desk.db.one_worker(LOCK_MAIL, inbound_id) as mine,
        _in_hand(desk, [inbound_id]) as free,
        logs.about(),
    ):
        if not mine or not free:
            return ingest.PENDING  # another worker has it in hand
        return _process_one(desk, inbound_id)


_IN_HAND: set[tuple[str, int]] = set()
_IN_HAND_LOCK = threading.Lock()


@contextmanager
def _in_hand(desk: Desk, inbound_ids: Sequence[int]) -> Iterator[list[int]]:
    """The mails of `inbound_ids` no other thread of this process is working, taken until
    the block ends (`_take`)."""
    taken = _take(desk, inbound_ids)
    try:
        yield taken
    finally:
        _let_go(desk, taken)


def _take(desk: Desk, inbound_ids: Sequence[int]) -> list[int]:
    """Take in hand the mails of `inbound_ids` no other thread of this process has.

    The watcher's pass, the scheduler's retry and the listener each work stored mail in a
    thread of their own; without this, two of them could each count a try of one mail
    (a retried mail is on every pass's list), and a mail that a crash had already cost a
    try was quarantined by one restarted daemon. The advisory lock (`process_one`) keeps
    apart the workers of several processes on PostgreSQL; on SQLite it is this.
    """
    with _IN_HAND_LOCK:
        taken = [i for i in inbound_ids if (desk.db.url, i) not in _IN_HAND]
        _IN_HAND.update((desk.db.url, i) for i in taken)
    return taken


def _let_go(desk: Desk, inbound_ids: Sequence[int]) -> None:
    with _IN_HAND_LOCK:
        _IN_HAND.difference_update((desk.db.url, i) for i in inbound_ids)


def _process_one(desk: Desk, inbound_id: int) -> str:
    claimed = _claim(desk, inbound_id)
    if isinstance(claimed, str):
        return claimed
    try:
        with claimed:
            mail = reader_for(desk.config.limits).read(claimed)
    except ReadFailed as exc:
        return _count_failure(desk, inbound_id, exc)
    logs.note(message_id=mail.message_id)
    try:
        with disk_full_is_temporary(), desk.db.transaction() as session:
            row = _lock_pending(session, desk, [inbound_id]).get(inbound_id)
            if row is None:
                return _status(session, inbound_id)
            return _settle(session, desk, row, mail)
    except TemporaryError:
        _give_back(desk, inbound_id)
        raise
    except Exception as exc:  # noqa: BLE001 - every other failure is a failed try
        return _count_failure(desk, inbound_id, exc)


def _settle(session: Session, desk: Desk, row: Inbound, mail: ParsedMail) -> str:
    """Dispatch a locked pending mail and mark it processed, or set aside with its reason."""
    try:
        dispatch(session, desk, row, mail)
        row.status = ingest.PROCESSED
    except IgnoreMail as exc:
        row.status, row.reason = ingest.IGNORED, str(exc)
        log.info("mail %s set aside: %s", row.id, exc)
    row.last_error, row.next_attempt_at = "", None
    row.processed_at = desk.clock.now()
    return row.status


def _give_back(desk: Desk, inbound_id: int) -> None:
    """A temporary error is nobody's fault: the try does not count (best effort)."""
    try:
        with desk.db.transaction() as session:
            row = session.get(Inbound, inbound_id)
            if row is not None and row.attempts > 0:
                row.attempts -= 1
                row.last_error, row.next_attempt_at = "", None
    except Exception:  # noqa: BLE001 - the database itself may be what is down
        log.warning("mail %s: could not give back its try", inbound_id, exc_info=True)


def _count_failure(desk: Desk, inbound_id: int, exc: Exception) -> str:
    """Record why the counted try failed; quarantine when it was the last."""
    with desk.db.transaction() as session:
        return _note_failure(session, desk, inbound_id, exc)


def _note_failure(session: Session, desk: Desk, inbound_id: int, exc: Exception) -> str:
    detail = "".join(traceback.format_exception_only(exc)).strip()
    log.error("mail %s failed: %s", inbound_id, detail, exc_info=exc)
    row = session.get(Inbound, inbound_id)
    assert row is not None
    row.last_error, row.next_attempt_at = detail, None
    if row.attempts >= desk.config.limits.attempts:
        row.status = ingest.QUARANTINED
        row.reason = f"failed {row.attempts} times: {detail}"
        log.error("mail %s quarantined after %d attempts", inbound_id, row.attempts)
    return row.status


def _claim_batch(desk: Desk, inbound_ids: Sequence[int]) -> list[int]:
    """Count one try of every fresh mail of the batch, in one short transaction; the ids
    claimed. A mail already taken (another worker) or tried since is left out."""
    with desk.db.transaction() as session:
        query = select(Inbound).where(
            Inbound.id.in_(inbound_ids),
            Inbound.status == ingest.PENDING,
            Inbound.attempts == 0,
        )
        if desk.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for row in session.scalars(query.order_by(Inbound.id)):
            _count_try(desk, row)
            claimed.append(row.id)
        return claimed


Reads = dict[int, Future[ParsedMail]]


class _ReadAhead:
    """The child reads a batch while this process dispatches the batch before it.

    Reading needs no try counted: it happens in the child, which cannot take this
    process down; the try is counted (`_claim_batch`) before the dispatch, which can.
    """

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.reader = reader_for(desk.config.limits)
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="maildesk-read")

    def start(self, inbound_ids: Sequence[int]) -> Reads:
        with self.desk.db.read_only() as session:
            found = session.scalars(
                select(Inbound.id)
                .where(Inbound.id.in_(inbound_ids), Inbound.status == ingest.PENDING)
                .order_by(Inbound.id)
            ).all()
            files = {i: ingest.raw_file(session, self.desk.blobs, i) for i in found}
        return {i: self.pool.submit(self._read, raw) for i, raw in files.items()}

    def _read(self, raw: BinaryIO) -> ParsedMail:
        with raw:
            return self.reader.read(raw)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


def _result(future: Future[ParsedMail]) -> ParsedMail | ReadFailed:
    try:
        return future.result()
    except ReadFailed as exc:
        return exc


def process_batch(desk: Desk, reads: Reads) -> list[str]:
    """Work fresh mails (read ahead) a transaction per `BATCH_SECONDS`, a savepoint each,
    their tries counted `CLAIM` at a time.

    Their statuses, in order. The reads are awaited before any transaction opens, so no
    lock waits on the child. A temporary error gives back the tries of the mails not yet
    committed and is raised, as for one mail. Any other failure of a transaction itself
    (not of one mail) gives those tries back and works those mails one transaction each.
    """
    statuses: list[str] = []
    candidates = list(reads)
    for start in range(0, len(candidates), CLAIM):
        statuses += _claim_and_dispatch(desk, reads, candidates[start : start + CLAIM])
    return statuses


def _claim_and_dispatch(desk: Desk, reads: Reads, candidates: Sequence[int]) -> list[str]:
    """Count the tries of `candidates` (those no other thread has in hand), then dispatch
    them; see `process_batch`. Mails the batch could not claim are let go at once.

    The reads are awaited first, so that a claimed mail is locked for its dispatch at once:
    until then, only its wait (`next_attempt`) keeps another process's retry from it.
    """
    mails = {inbound_id: _result(reads[inbound_id]) for inbound_id in candidates}
    held = _take(desk, candidates)
    try:
        ids = _claim_batch(desk, held) if held else []
        _let_go(desk, [i for i in held if i not in ids])  # tried before, or another's
        held = ids
        statuses, rest = _dispatch_claimed(desk, mails, ids)
    finally:
        _let_go(desk, held)
    return statuses + [process_one(desk, inbound_id) for inbound_id in rest]


def _dispatch_claimed(
    desk: Desk, mails: dict[int, ParsedMail | ReadFailed], ids: Sequence[int]
) -> tuple[list[str], list[int]]:
    """The statuses of the claimed mails dispatched, and those left to work one at a time
    (a transaction's own failure, not one mail's, gives their tries back)."""
    statuses: list[str] = []
    try:
        while len(statuses) < len(ids):
            statuses += _dispatch_for_a_while(desk, ids[len(statuses) :], mails)
    except TemporaryError:
        for inbound_id in ids[len(statuses) :]:
            _give_back(desk, inbound_id)
        raise
    except Exception:  # noqa: BLE001 - not one mail's fault: each gets its own transaction
        rest = list(ids[len(statuses) :])
        log.exception("a batch of %d mails failed; working them one at a time", len(rest))
        for inbound_id in rest:
            _give_back(desk, inbound_id)
        return statuses, rest
    return statuses, []


def _dispatch_for_a_while(
    desk: Desk, ids: Sequence[int], mails: dict[int, ParsedMail | ReadFailed]
) -> list[str]:
    """Dispatch mails in one transaction until `BATCH_SECONDS` have gone by; their statuses.

    The bound keeps SQLite's write lock from being held for a whole slow batch: the
    outbox's record of a 250 and the listener's store wait at most this long. The mails
    still pending are locked at once, one statement for the transaction.
    """
    started = time.monotonic()
    statuses: list[str] = []
    with disk_full_is_temporary(), desk.db.transaction() as session:
        rows = _lock_pending(session, desk, ids)
        for inbound_id in ids:
            row = rows.get(inbound_id)
            statuses.append(
                _dispatch_in_savepoint(session, desk, row, mails[inbound_id])
                if row is not None
                else _status(session, inbound_id)
            )
            if time.monotonic() - started > BATCH_SECONDS:
                break
    return statuses


def _dispatch_in_savepoint(
    session: Session, desk: Desk, row: Inbound, read: ParsedMail | ReadFailed
) -> str:
    """One locked mail of a batch: its work kept, or rolled back alone and its try failed.

    Every line logged meanwhile names the mail's Message-Id and ticket (`logs.about`)."""
    if isinstance(read, ReadFailed):
        return _note_failure(session, desk, row.id, read)
    with logs.about(message_id=read.message_id):
        return _dispatch_mail(session, desk, row, read)


def _dispatch_mail(session: Session, desk: Desk, row: Inbound, read: ParsedMail) -> str:
    inbound_id = row.id
    try:
        with disk_full_is_temporary(), session.begin_nested():
            return _settle(session, desk, row, read)
    except TemporaryError:
        raise
    except Exception as exc:  # noqa: BLE001 - this mail's try failed; the batch goes on
        return _note_failure(session, desk, inbound_id, exc)


@dataclass
class ProcessReport:
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True, slots=True)
class Queued:
    inbound_id: int
    attempts: int
    size: int


def pending(desk: Desk, limit: int | None = None) -> Sequence[Queued]:
    """Pending mail due for a try, fresh before tried, oldest first within each.

    A mail whose last try never came back is suspect, but so is whatever a killed process
    happened to be working on: taken first after every restart, an innocent mail would
    meet each kill of a crash loop and be quarantined for it. It waits (`next_attempt`),
    then goes last in line: a real poison mail still uses its tries, and the rest of the
    queue moves on first.
    """
    with desk.db.transaction() as session:
        query = (
            select(Inbound.id, Inbound.attempts, Inbound.size)
            .where(
                Inbound.desk_id == desk.desk_id,
                Inbound.status == ingest.PENDING,
                or_(
                    Inbound.next_attempt_at.is_(None),
                    Inbound.next_attempt_at <= desk.clock.now(),
                ),
            )
            .order_by(Inbound.attempts, Inbound.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [Queued(row.id, row.attempts, row.size or 0) for row in session.execute(query)]


def seconds_to_next_try(desk: Desk) -> float | None:
    """How long until the first pending mail that waits (`next_attempt`) is due (0 when it
    is due already); None when none waits. A mail waits only after a try its process never
    came back from, so the process started after it (`Daemon`) comes back for it then."""
    now = desk.clock.now()
    with desk.db.read_only() as session:
        due = session.scalar(
            select(func.min(Inbound.next_attempt_at)).where(
                Inbound.desk_id == desk.desk_id,
                Inbound.status == ingest.PENDING,
                Inbound.next_attempt_at.is_not(None),
            )
        )
    return None if due is None else max(0.0, (as_utc(due) - now).total_seconds())


def _batches(fresh: Sequence[Queued]) -> list[list[int]]:
    """At most `BATCH` mails and about `BATCH_BYTES` a batch (one big mail goes alone)."""
    batches: list[list[int]] = []
    size = 0
    for mail in fresh:
        if not batches or len(batches[-1]) >= BATCH or size + mail.size > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(mail.inbound_id)
        size += mail.size
    return batches


def pending_ids(desk: Desk, limit: int | None = None) -> Sequence[int]:
    """The ids of `pending`, in its order."""
    return [queued.inbound_id for queued in pending(desk, limit)]


def process_pending(
    desk: Desk, *, limit: int | None = None, progress: Progress | None = None
) -> ProcessReport:
    """Work through pending mails (`pending`); a failing mail never blocks the rest.

    Fresh mails go in batches, the child reading the next batch while this process
    dispatches one; a mail tried before goes alone. With one try allowed (`[limits]
    attempts = 1`) every mail goes alone: a batch that died would have used up the only
    try of every mail in it. `progress` (a mailbox's past imported by `fetch --once`)
    counts each mail.
    """
    report = ProcessReport()
    queue = pending(desk, limit)
    if progress is not None:
        progress.total = len(queue)

    def add(status: str) -> None:
        report.add(status)
        if progress is not None:
            progress.step()

    batched = desk.config.limits.attempts > 1
    batches = _batches([q for q in queue if q.attempts == 0]) if batched else []
    if batches:
        ahead = _ReadAhead(desk)
        try:
            reads = ahead.start(batches[0])
            for following in [*batches[1:], None]:
                next_reads = ahead.start(following) if following is not None else {}
                for status in process_batch(desk, reads):
                    add(status)
                reads = next_reads
        finally:
            ahead.close()
    for queued in queue:
        if not batched or queued.attempts > 0:
            add(process_one(desk, queued.inbound_id))
    return report


def requeue(desk: Desk, inbound_id: int) -> bool:
    """Give a quarantined (or ignored) mail a fresh start; the admin's one command."""
    with desk.db.transaction() as session:
        row = session.get(Inbound, inbound_id)
        if row is None or row.desk_id != desk.desk_id or row.status == ingest.PENDING:
            return False
        if row.status == ingest.PROCESSED:
            return False
        row.status, row.attempts, row.last_error = ingest.PENDING, 0, ""
        row.next_attempt_at = None
        return True


def explain(
    desk: Desk, raw: bytes, *, envelope_from: str | None = None, envelope_to: str = ""
) -> dict[str, Any]:
    """What would happen to this mail, and why; writes nothing (`ingest --dry-run`)."""
    with desk.db.read_only() as session:
        analysis = analyse(
            session,
            desk,
            read_mail(raw, envelope_from),
            envelope_from=envelope_from,
            envelope_to=envelope_to,
        )
    mail, verdict, decision = analysis.mail, analysis.verdict, analysis.decision
    if not verdict.process:
        action = "set aside"
    elif decision.ticket_number is not None:
        action = f"append to ticket {decision.ticket_number}"
    elif verdict.kind in (MailKind.AUTO_REPLY, MailKind.BOUNCE):
        action = "record on the ticket it names, or set aside"
    else:
        action = "open a new ticket" + (
            " and send a confirmation" if verdict.may_autoreply else " (no automatic answer)"
        )
    return {
        "from": mail.from_addr,
        "subject": mail.subject,
        "message_id": mail.message_id,
        "kind": verdict.kind.value,
        "rule": verdict.reason,
        "signal": decision.signal,
        "ticket": decision.ticket_number,
        "related": decision.related_number,
        "why": decision.reason,
        "action": action,
        "attachments": [a.filename for a in mail.attachments],
        "defects": list(mail.defects),
    }
