"""Turn stored raw mails into tickets: one mail, one transaction, all or nothing.

The pipeline for one mail is parse -> rules -> thread -> open or append ->
confirm -> mark processed. Outcomes are decided in one place (`dispatch.py`); errors
are mapped in one place (`process_one`). Each try is counted in its own short
transaction BEFORE the work, so a mail that kills the process (the OOM killer,
SIGKILL) still uses up its tries; the mail is read in a child process with a memory
and time limit (`reader_process.py`), then dispatched in one transaction. A
temporary error (database gone, disk full) gives the try back and leaves the mail
pending; anything else is a failed try, and after `[limits] attempts` tries the mail
is quarantined with its reason so the queue moves on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk import logs
from maildesk.context import Desk
from maildesk.domain import MailKind
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


def _lock_pending(session: Session, desk: Desk, inbound_id: int) -> Inbound | None:
    query = select(Inbound).where(Inbound.id == inbound_id, Inbound.status == ingest.PENDING)
    if desk.db.is_postgres:
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def _status(session: Session, inbound_id: int) -> str:
    return session.scalar(select(Inbound.status).where(Inbound.id == inbound_id)) or "missing"


def _claim(desk: Desk, inbound_id: int) -> bytes | str:
    """Count this try and hand back the raw mail; or the status when there is nothing to do.

    A mail whose tries are used up (the last one never came back) is quarantined here,
    before any work, so a mail that kills the process cannot crash-loop the daemon.
    """
    with desk.db.transaction() as session:
        row = _lock_pending(session, desk, inbound_id)
        if row is None:
            return _status(session, inbound_id)
        if row.attempts >= desk.config.limits.attempts:
            row.status = ingest.QUARANTINED
            row.reason = f"failed {row.attempts} times: {row.last_error}"
            log.error("mail %s quarantined: %s", inbound_id, row.reason)
            return row.status
        row.attempts += 1
        row.last_error = UNFINISHED.format(n=row.attempts)
        return bytes(row.raw)


def process_one(desk: Desk, inbound_id: int) -> str:
    """Process one stored mail; returns its status afterwards.

    On PostgreSQL several workers work the same queue: the mail's advisory lock keeps a
    second one from counting a try of a mail already in hand (three would quarantine it).
    Every line logged meanwhile names the mail's Message-Id and ticket (`logs.about`).
    """
    with desk.db.one_worker(LOCK_MAIL, inbound_id) as mine, logs.about():
        if not mine:
            return ingest.PENDING  # another worker has it in hand
        return _process_one(desk, inbound_id)


def _process_one(desk: Desk, inbound_id: int) -> str:
    claimed = _claim(desk, inbound_id)
    if isinstance(claimed, str):
        return claimed
    try:
        mail = reader_for(desk.config.limits).read(claimed)
    except ReadFailed as exc:
        return _count_failure(desk, inbound_id, exc)
    logs.note(message_id=mail.message_id)
    try:
        with disk_full_is_temporary(), desk.db.transaction() as session:
            row = _lock_pending(session, desk, inbound_id)
            if row is None:
                return _status(session, inbound_id)
            try:
                dispatch(session, desk, row, mail)
                row.status = ingest.PROCESSED
            except IgnoreMail as exc:
                row.status, row.reason = ingest.IGNORED, str(exc)
                log.info("mail %s set aside: %s", inbound_id, exc)
            row.last_error = ""
            row.processed_at = desk.clock.now()
            return row.status
    except TemporaryError:
        _give_back(desk, inbound_id)
        raise
    except Exception as exc:  # noqa: BLE001 - every other failure is a failed try
        return _count_failure(desk, inbound_id, exc)


def _give_back(desk: Desk, inbound_id: int) -> None:
    """A temporary error is nobody's fault: the try does not count (best effort)."""
    try:
        with desk.db.transaction() as session:
            row = session.get(Inbound, inbound_id)
            if row is not None and row.attempts > 0:
                row.attempts -= 1
                row.last_error = ""
    except Exception:  # noqa: BLE001 - the database itself may be what is down
        log.warning("mail %s: could not give back its try", inbound_id, exc_info=True)


def _count_failure(desk: Desk, inbound_id: int, exc: Exception) -> str:
    """Record why the counted try failed; quarantine when it was the last."""
    detail = "".join(traceback.format_exception_only(exc)).strip()
    log.error("mail %s failed: %s", inbound_id, detail, exc_info=exc)
    with desk.db.transaction() as session:
        row = session.get(Inbound, inbound_id)
        assert row is not None
        row.last_error = detail
        if row.attempts >= desk.config.limits.attempts:
            row.status = ingest.QUARANTINED
            row.reason = f"failed {row.attempts} times: {detail}"
            log.error("mail %s quarantined after %d attempts", inbound_id, row.attempts)
        return row.status


@dataclass
class ProcessReport:
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def pending_ids(desk: Desk, limit: int | None = None) -> Sequence[int]:
    """Pending mail, fresh before tried, oldest first within each.

    A mail whose last try never came back is suspect, but so is whatever a killed process
    happened to be working on: taken first after every restart, an innocent mail would
    meet each kill of a crash loop and be quarantined for it. Last in line, a real poison
    mail still uses its tries, and the rest of the queue moves on first.
    """
    with desk.db.transaction() as session:
        query = (
            select(Inbound.id)
            .where(Inbound.desk_id == desk.desk_id, Inbound.status == ingest.PENDING)
            .order_by(Inbound.attempts, Inbound.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(session.scalars(query))


def process_pending(
    desk: Desk, *, limit: int | None = None, progress: Progress | None = None
) -> ProcessReport:
    """Work through pending mails (`pending_ids`); a failing mail never blocks the rest.

    `progress` (a mailbox's past imported by `fetch --once`) counts each mail.
    """
    report = ProcessReport()
    ids = pending_ids(desk, limit)
    if progress is not None:
        progress.total = len(ids)
    for inbound_id in ids:
        report.add(process_one(desk, inbound_id))
        if progress is not None:
            progress.step()
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
