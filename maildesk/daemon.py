"""`maildesk run`: the parts of the desk, each in its own thread, stopped cleanly.

The listener and the page start before the stored backlog is worked (in its own
thread): a backlog that is slow, or holds a mail that kills its reader, must never
keep the desk from serving. Each loop is wrapped so that an error is logged and the
loop carries on; SIGTERM or SIGINT sets one stop event that every part watches. Work
in flight finishes its transaction; anything not yet committed is done again next start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import schedule
from sqlalchemy.orm import Session

from maildesk.config import ImapConfig
from maildesk.context import Desk
from maildesk.inbound import reader_process
from maildesk.inbound.lease import Lease
from maildesk.inbound.runner import process_pending, seconds_to_next_try
from maildesk.inbound.sources.imap import ImapWatcher, explain, mailbox_key
from maildesk.inbound.sources.listener import Listener
from maildesk.inbound.store import DatabaseMailboxStore
from maildesk.kb.index import sync_desk
from maildesk.models import Outbox, Ticket
from maildesk.outbound import doorbell, outbox
from maildesk.progress import Progress
from maildesk.sla.jobs import LOCK_RETRY, tick
from maildesk.tickets import system

if TYPE_CHECKING:
    from maildesk.web.serve import WebServer

log = logging.getLogger(__name__)

PARTS = ("fetch", "listener", "outbox", "scheduler", "web")
OUTBOX_SECONDS = 2.0
PROCESS_SECONDS = 1.0  # how soon a fetch worker without the mailbox takes up stored mail
OUTBOX_ALONE_SECONDS = 0.2
"""The pause of an outbox worker with no intake in its process (`--only outbox`): no
commit here rings its bell, so it polls, and a claim that finds nothing is one query."""
RETRY_PAUSE = 1.0  # at least this between two passes for mail whose wait ended


def guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """Run `job`, logging instead of raising, so one failure never stops the daemon."""

    def run() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - logged, and the loop carries on
            log.exception("%s failed; it will run again", name)

    return run


def send_outbox(desk: Desk, stop: Callable[[], bool] = lambda: False) -> outbox.SendReport:
    """Deliver everything that is due, over one relay connection; `stop` ends it between batches."""
    smtp = desk.config.smtp
    # A claim outlives the slowest possible send of a batch member, then expires.
    lease = timedelta(seconds=3 * smtp.timeout_seconds + 10)
    return outbox.send_due(
        desk.db,
        desk.transport(),
        desk.clock,
        desk.receipts(),
        desk.blobs,
        desk_id=desk.desk_id,
        max_attempts=smtp.max_attempts,
        lease=lease,
        stop=stop,
        on_refused=_address_refused,
    )


def _address_refused(session: Session, row: Outbox, error: str, now: datetime) -> None:
    ticket = session.get(Ticket, row.ticket_id)
    if ticket is not None:
        system.address_bouncing(session, ticket, row.recipient, error=error, now=now)


def mailbox_lease(desk: Desk, imap: ImapConfig) -> Lease:
    """This worker's lease on the desk's mailbox: of several fetchers, one fetches."""
    return Lease(
        desk.db,
        desk.clock,
        desk_id=desk.desk_id,
        mailbox=mailbox_key(imap),
        seconds=imap.lease_seconds,
    )


def watcher_for(desk: Desk, imap: ImapConfig, **options: Any) -> ImapWatcher:
    """The desk's mailbox watcher, storing under this worker's lease."""
    lease = mailbox_lease(desk, imap)
    store = DatabaseMailboxStore(desk.db, desk.desk_id, desk.clock, desk.blobs, lease)
    return ImapWatcher(
        imap,
        store,
        now=desk.clock.now,
        claim=lease,
        on_reconnect=store.count_reconnect,
        **options,
    )


def fetch_once(desk: Desk) -> int:
    """One pass over the mailbox, then process what was stored (cron mode).

    A connection or login failure is raised as the `MailboxError` that explains it.
    While a running worker holds the mailbox, the pass fetches nothing.
    """
    imap = desk.config.imap
    assert imap is not None
    watcher = watcher_for(desk, imap)
    try:
        stored = watcher.poll_once()
    except Exception as exc:
        failure = explain(exc, imap)
        if failure is None or failure is exc:
            raise
        raise failure from exc
    finally:
        watcher.close()
        watcher.release()
    progress = Progress(f"{desk.slug}: mail", 0)
    process_pending(desk, progress=progress)
    progress.finish()
    return stored


def retry_pending(desk: Desk) -> None:
    """The scheduler's retry of stored mail, on one scheduler at a time (the fetch and
    listener workers still work their own mail at once, beside it)."""
    with desk.db.one_worker(LOCK_RETRY, desk.desk_id) as mine:
        if mine:
            process_pending(desk)


@dataclass
class Daemon:
    """Every desk of the install in one process: a watcher, an outbox loop and a scheduler
    job per desk (each with its own mailbox, relay and clock of work), one listener routing
    by recipient, one web server choosing the desk by host; one database for all."""

    desks: tuple[Desk, ...]
    parts: tuple[str, ...] = PARTS
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    scheduler: schedule.Scheduler = field(default_factory=schedule.Scheduler)
    listener: Listener | None = None
    web: WebServer | None = None

    def _loop(self, name: str, step: Callable[[], object], every: float) -> None:
        job = guarded(name, step)
        while not self.stop.is_set():
            job()
            self.stop.wait(every)

    def _outbox_loop(self, desk: Desk) -> None:
        """Send what is due, then wait for the bell (mail committed to the outbox here) or
        the pause; a ring during a pass is not lost, the next wait returns at once."""
        job = guarded("outbox", lambda: send_outbox(desk, self.stop.is_set))
        intake_here = "listener" in self.parts or "fetch" in self.parts
        pause = OUTBOX_SECONDS if intake_here else OUTBOX_ALONE_SECONDS
        seen = doorbell.BELL.generation
        while not self.stop.is_set():
            job()
            seen = doorbell.BELL.wait(seen, pause)

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"maildesk-{name}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def _watch(self, desk: Desk, imap: ImapConfig) -> None:
        watcher = watcher_for(
            desk, imap, on_problem=lambda problem: desk.runtime.report("fetch", problem)
        )
        work = guarded("process", lambda: process_pending(desk))
        if not desk.db.is_postgres:
            self._thread(f"fetch-{desk.slug}", lambda: watcher.run(self.stop, lambda _n: work()))
            return
        # Every fetch worker works the stored mail, in a thread of its own: the one that
        # holds the mailbox only wakes it, and goes on renewing its lease meanwhile.
        stored = threading.Event()
        self._thread(f"fetch-{desk.slug}", lambda: watcher.run(self.stop, lambda _n: stored.set()))
        self._thread(f"process-{desk.slug}", lambda: self._work_stored(work, stored))

    def _work_stored(self, work: Callable[[], None], stored: threading.Event) -> None:
        while not self.stop.is_set():
            work()
            stored.wait(PROCESS_SECONDS)
            stored.clear()

    def _desk_parts(self, desk: Desk) -> None:
        """What each desk runs for itself: its mailbox, its outbox, its scheduled jobs."""
        if "fetch" in self.parts and desk.config.imap is not None:
            self._watch(desk, desk.config.imap)
        if "outbox" in self.parts:
            self._thread(f"outbox-{desk.slug}", lambda: self._outbox_loop(desk))
        if "scheduler" in self.parts:
            # The SLA pass and the periodic jobs; what is due is decided from the desk's
            # clock and claimed in the database, so `schedule` only sets the pace.
            every = desk.config.escalation.check_seconds
            self.scheduler.every(every).seconds.do(
                guarded("escalation and jobs", lambda: tick(desk))
            )
            self.scheduler.every(every).seconds.do(
                guarded("retry pending mail", lambda: retry_pending(desk))
            )

    def start(self) -> None:
        for desk in self.desks:
            self._sync_kb(desk)
            self._desk_parts(desk)
        if "scheduler" in self.parts:
            self._thread(
                "scheduler", lambda: self._loop("scheduler", self.scheduler.run_pending, 1.0)
            )
        listener_config = self.desks[0].config.listener
        if "listener" in self.parts and listener_config is not None:
            listener = Listener(self.desks, listener_config)
            listener.start()
            self.listener = listener
        if "web" in self.parts:
            from maildesk.web.serve import WebServer

            self.web = WebServer(self.desks)
            self._thread("web", self.web.run)
        # Mail stored by an earlier run but not yet processed, once everything serves.
        for desk in self.desks:
            self._thread(f"backlog-{desk.slug}", self._backlog(desk))

    @staticmethod
    def _sync_kb(desk: Desk) -> None:
        """Articles edited while the daemon was down are searchable from the start."""
        guarded("knowledge base", lambda: sync_desk(desk))()

    def _backlog(self, desk: Desk) -> Callable[[], None]:
        """Work what an earlier run stored and left; a process that takes in mail (fetch,
        listener) then comes back for each mail a killed run was working on once its wait
        is over (`runner.next_attempt`). The others leave that to those and to the
        scheduler's retry: a page or outbox worker does not keep reading mail."""
        intake = "fetch" in self.parts or "listener" in self.parts

        def work() -> None:
            process_pending(desk)
            while intake and (wait := seconds_to_next_try(desk)) is not None:
                if self.stop.wait(max(wait, RETRY_PAUSE)):
                    return
                process_pending(desk)

        return guarded("process", work)

    def shutdown(self) -> None:
        self.stop.set()
        doorbell.BELL.ring()  # the outbox loops wait on the bell, not on `stop`
        if self.listener is not None:
            self.listener.stop()
        if self.web is not None:
            self.web.close()
        for thread in self.threads:
            thread.join(timeout=30)
        reader_process.close_all()
        self.desks[0].db.dispose()  # one database for every desk
        log.info("maildesk stopped")
