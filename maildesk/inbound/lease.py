"""Which fetch worker may fetch a mailbox: a lease in the database, renewed while it works.

Two fetchers on one folder would both fetch every new mail; the store's dedupe keys
keep the tickets single, but each mail would be fetched, stored and acknowledged twice
and the folder position would race. So one fetcher holds a lease per (desk, mailbox)
and the others wait. The holder renews it on every pass and inside every store's own
transaction (`renew_in`), so a fetcher that lost it (paused past its expiry, its
database connection cut) stores nothing more: the renewal fails and the store rolls
back. A holder that died simply stops renewing; another takes over after
`imap.lease_seconds`. A clean stop releases it at once.

Taking and renewing are one UPDATE each, guarded by "mine, or expired"; a first take
is an INSERT that the primary key keeps single. Both are atomic on SQLite (one writer)
and PostgreSQL (the UPDATE re-reads the row once it has its lock). Time is the desk's
clock, so a test moves it instead of sleeping.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.clock import Clock
from maildesk.db import Database
from maildesk.inbound.sources.imap import LeaseLost
from maildesk.models import MailboxLease

log = logging.getLogger(__name__)


def holder_id() -> str:
    """host:pid:random, so a log names the worker and a restarted pid is a new holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class Held:
    """Who holds a lease, and until when."""

    holder: str
    until: datetime


class Lease:
    """One worker's lease on one mailbox of one desk."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        desk_id: int,
        mailbox: str,
        seconds: int,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.desk_id = desk_id
        self.mailbox = mailbox
        self.seconds = seconds
        self.length = timedelta(seconds=seconds)
        self.holder = holder or holder_id()
        self._waiting_for: str | None = None  # whose lease was last logged, to log it once

    def hold(self) -> bool:
        """Take or renew the lease; False (logged once per holder) when another has it."""
        with self.db.transaction() as session:
            if self._renew(session, take=True):
                if self._waiting_for is not None:
                    log.info("%s: lease taken over by %s", self.mailbox, self.holder)
                self._waiting_for = None
                return True
            if self._insert(session):
                return True
            other = self.current(session)
        if other is not None and other.holder != self._waiting_for:
            log.info(
                "%s: mailbox held by %s until %s; waiting",
                self.mailbox,
                other.holder,
                other.until.isoformat(timespec="seconds"),
            )
            self._waiting_for = other.holder
        return False

    def renew_in(self, session: Session) -> None:
        """Renew inside the caller's transaction, or raise `LeaseLost` to roll it back."""
        if not self._renew(session, take=False):
            raise LeaseLost(f"{self.mailbox}: lease lost by {self.holder}; not storing")

    def release(self) -> None:
        """On a clean stop: the next fetcher need not wait for the expiry."""
        with self.db.transaction() as session:
            session.execute(
                delete(MailboxLease).where(
                    MailboxLease.desk_id == self.desk_id,
                    MailboxLease.mailbox == self.mailbox,
                    MailboxLease.holder == self.holder,
                )
            )

    def current(self, session: Session) -> Held | None:
        row = session.scalars(
            select(MailboxLease).where(
                MailboxLease.desk_id == self.desk_id, MailboxLease.mailbox == self.mailbox
            )
        ).first()
        return Held(row.holder, row.expires_at) if row is not None else None

    def _renew(self, session: Session, *, take: bool) -> bool:
        """Extend it if it is ours and running; with `take`, also if it has expired."""
        now = self.clock.now()
        mine = (MailboxLease.holder == self.holder) & (MailboxLease.expires_at > now)
        result = session.execute(
            update(MailboxLease)
            .where(
                MailboxLease.desk_id == self.desk_id,
                MailboxLease.mailbox == self.mailbox,
                or_(mine, MailboxLease.expires_at <= now) if take else mine,
            )
            .values(holder=self.holder, expires_at=now + self.length)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _insert(self, session: Session) -> bool:
        """The first take of a mailbox nobody has held; False when another got in first."""
        try:
            with session.begin_nested():
                session.add(
                    MailboxLease(
                        desk_id=self.desk_id,
                        mailbox=self.mailbox,
                        holder=self.holder,
                        expires_at=self.clock.now() + self.length,
                    )
                )
        except IntegrityError:
            return False
        return True
