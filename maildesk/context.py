"""The running desk: configuration, database, clock and files, opened once per process."""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.clock import Clock, SystemClock
from maildesk.config import Config, Install, StaffConfig, with_secret
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
    # The other buildings of the same install: to tell their staff why they cannot act here.
    neighbours: tuple[Config, ...] = ()

    @property
    def slug(self) -> str:
        return self.config.desk.slug

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
        return status_url(self.config, token)

    def install_configs(self) -> tuple[Config, ...]:
        """This building's configuration and its neighbours', this one first."""
        return (self.config, *self.neighbours)

    def is_staff(self, address: str) -> bool:
        return self.config.staff_member(address) is not None

    def is_install_staff(self, address: str) -> bool:
        """Staff of this desk or of another building of the install (whose subject tags
        are theirs to use, and who are told when they cannot act here)."""
        return self.is_staff(address) or self.staff_elsewhere(address) is not None

    def staff_elsewhere(self, address: str) -> tuple[StaffConfig, Config] | None:
        """A staff member of another building of the install who is not staff of this one."""
        if self.is_staff(address):
            return None
        for other in self.neighbours:
            member = other.staff_member(address)
            if member is not None:
                return member, other
        return None

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


def status_url(config: Config, token: str) -> str:
    """The status page of a ticket of the building `config` describes."""
    return f"{config.desk.base_url.rstrip('/')}/t/{token}"


def ensure_desk_row(db: Database, config: Config, clock: Clock) -> int:
    """The desk row of the configured building, created on first use.

    Found by its address (as before slugs existed, so a one-desk install keeps its
    tickets), else by its slug (the building's address changed); the configured name
    and slug are written back. Workers started together on a new database all try to
    create it: the one that loses finds the winner's row on its second look. A row
    that already says what the configuration says is only read: a command that reads
    (`ticket list`) never waits for SQLite's write lock, held by a daemon's batch.
    """
    written = (config.desk.address.lower(), config.desk.slug, config.desk.name)
    with db.read_only() as session:
        row = _desk_row(session, *written[:2])
        if row is not None and (row.address, row.slug, row.name) == written:
            return row.id
    try:
        return _ensure_desk_row(db, config, clock)
    except IntegrityError:
        return _ensure_desk_row(db, config, clock)


def _desk_row(session: Session, address: str, slug: str) -> DeskRow | None:
    row = session.scalars(select(DeskRow).where(DeskRow.address == address)).first()
    if row is None:
        row = session.scalars(select(DeskRow).where(DeskRow.slug == slug)).first()
    return row


def _ensure_desk_row(db: Database, config: Config, clock: Clock) -> int:
    address, slug = config.desk.address.lower(), config.desk.slug
    with db.transaction() as session:
        row = _desk_row(session, address, slug)
        if row is None:
            row = DeskRow(
                address=address,
                slug=slug,
                name=config.desk.name,
                next_number=1,
                created_at=clock.now(),
            )
            session.add(row)
            session.flush()
        row.address, row.slug, row.name = address, slug, config.desk.name
        return row.id


def _open(config: Config, db: Database, clock: Clock) -> Desk:
    """One desk over an opened database: its files, its secret and its row."""
    config.data_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = with_secret(config)
    desk_id = ensure_desk_row(db, config, clock)
    return Desk(
        config=config,
        db=db,
        clock=clock,
        desk_id=desk_id,
        blobs=BlobStore(config.data_path),
        runtime=Runtime(started_at=clock.now()),
    )


def _database(config: Config, upgrade: bool) -> Database:
    db = Database(config.database_url)
    if upgrade:
        log.info(db.upgrade())
    else:
        db.check_schema()  # before anything is written: a wrong folder stays untouched
    return db


def open_desk(config: Config, *, upgrade: bool, clock: Clock | None = None) -> Desk:
    """Open the database and the desk's files.

    With `upgrade` the schema is created or migrated (`init`, `db upgrade`, `run`) and
    one line says so; without, a missing or older schema is a `SchemaError`. `data_dir`
    holds residents' attachments and mail: it is created for its owner only.
    """
    return _open(config, _database(config, upgrade), clock or SystemClock())


def open_install(
    install: Install, *, upgrade: bool, clock: Clock | None = None
) -> tuple[Desk, ...]:
    """Every desk of the install over ONE database (one engine, one pool), as `open_desk`."""
    db = _database(install.desks[0], upgrade)
    clock = clock or SystemClock()
    desks = tuple(_open(config, db, clock) for config in install.desks)
    return tuple(
        dataclasses.replace(desk, neighbours=tuple(d.config for d in desks if d is not desk))
        for desk in desks
    )
