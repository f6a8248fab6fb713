"""The running desk: configuration, database, clock and files, opened once per process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from maildesk.clock import Clock, SystemClock
from maildesk.config import Config, with_secret
from maildesk.db import Database
from maildesk.models import Desk as DeskRow
from maildesk.signing import split_address
from maildesk.smtp import DirectoryTransport, SmtpTransport, Transport
from maildesk.storage import BlobStore


@dataclass(frozen=True)
class Desk:
    config: Config
    db: Database
    clock: Clock
    desk_id: int
    blobs: BlobStore

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


def open_desk(config: Config, *, clock: Clock | None = None, upgrade: bool = True) -> Desk:
    """Open the database (upgrading it when asked) and the desk's files."""
    config = with_secret(config)
    clock = clock or SystemClock()
    db = Database(config.database_url)
    if upgrade:
        db.upgrade()
    desk_id = ensure_desk_row(db, config, clock)
    return Desk(
        config=config, db=db, clock=clock, desk_id=desk_id, blobs=BlobStore(config.data_path)
    )
