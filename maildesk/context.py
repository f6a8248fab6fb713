"""The running desk: configuration, database, clock and files, opened once per process."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from maildesk.clock import Clock, SystemClock
from maildesk.config import Config, with_secret
from maildesk.db import Database
from maildesk.models import Desk as DeskRow
from maildesk.outbound.receipts import Receipts
from maildesk.outbound.transports import DirectoryTransport, SmtpTransport, Transport
from maildesk.signing import split_address
from maildesk.storage import BlobStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What this process knows about itself that the database does not: for `/healthz`.

    `started_at` gives a freshly started process a grace period before a mailbox that
    has not passed yet counts as a problem; `problems` holds the reason a part keeps
    failing (e.g. the IMAP login refused), by part, until it works again.
    """

    started_at: datetime
    problems: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def report(self, part: str, problem: str | None) -> None:
        """Record (or, with None, clear) the problem of `part`."""
        with self.lock:
            if problem is None:
                self.problems.pop(part, None)
            else:
                self.problems[part] = problem

    def current(self) -> dict[str, str]:
        with self.lock:
            return dict(self.problems)


@dataclass(frozen=True)
class Desk:
    config: Config
    db: Database
    clock: Clock
    desk_id: int
    blobs: BlobStore
    runtime: Runtime

    @property
    def address(self) -> str:
        return self.config.desk.address.lower()

    @property
    def secret(self) -> str:
        return self.config.desk.secret_key

    @property
    def domain(self) -> str:
        return split_address(self.address)[1]

    @property
    def language(self) -> str:
        return self.config.desk.language

    def status_url(self, token: str) -> str:
        return f"{self.config.desk.base_url.rstrip('/')}/t/{token}"

    def is_staff(self, address: str) -> bool:
        return self.config.staff_member(address) is not None

    def transport(self) -> Transport:
        """The relay when one is configured, else a folder of `.eml` files."""
        smtp = self.config.smtp
        if smtp.host:
            return SmtpTransport(smtp)
        return DirectoryTransport(self.config.data_path / smtp.outbox_dir)

    def receipts(self) -> Receipts:
        """Where the relay's 250s are noted before the database records them."""
        return Receipts(self.config.data_path / "receipts")

    @property
    def outbox_dir(self) -> Path:
        return self.config.data_path / self.config.smtp.outbox_dir


def ensure_desk_row(db: Database, config: Config, clock: Clock) -> int:
    """The desk row for the configured address, created on first use."""
    address = config.desk.address.lower()
    with db.transaction() as session:
        row = session.scalars(select(DeskRow).where(DeskRow.address == address)).first()
        if row is None:
            row = DeskRow(
                address=address, name=config.desk.name, next_number=1, created_at=clock.now()
            )
            session.add(row)
            session.flush()
        elif row.name != config.desk.name:
            row.name = config.desk.name
        return row.id


def open_desk(config: Config, *, upgrade: bool, clock: Clock | None = None) -> Desk:
    """Open the database and the desk's files.

    With `upgrade` the schema is created or migrated (`init`, `db upgrade`, `run`) and
    one line says so; without, a missing or older schema is a `SchemaError`. `data_dir`
    holds residents' attachments and mail: it is created for its owner only.
    """
    db = Database(config.database_url)
    if upgrade:
        log.info(db.upgrade())
    else:
        db.check_schema()  # before anything is written: a wrong folder stays untouched
    config.data_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = with_secret(config)
    clock = clock or SystemClock()
    desk_id = ensure_desk_row(db, config, clock)
    return Desk(
        config=config,
        db=db,
        clock=clock,
        desk_id=desk_id,
        blobs=BlobStore(config.data_path),
        runtime=Runtime(started_at=clock.now()),
    )
