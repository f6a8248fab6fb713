"""The tables, with the unique constraints that make every import idempotent.

Times are stored as UTC on both SQLite and PostgreSQL (`UTCDateTime`), so the
same code reads the same aware datetimes from either.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Desk(Base):
    """One building or community with its own support address."""

    __tablename__ = "desk"
    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    next_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The fingerprint of the SLA rules the tickets' `next_check_at` were set by
    # (`sla.policy.rules_fingerprint`): new rules have the pass look at every open ticket.
    sla_rules: Mapped[str] = mapped_column(String(64), default="", server_default="")


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("desk_id", "number"),
        # The console's board: open tickets by state, newest first; overdue by due time.
        Index("ix_ticket_desk_state_opened", "desk_id", "state", "opened_at"),
        # The auto-close's seek: tickets in validation resolved before a day.
        Index("ix_ticket_desk_state_resolved", "desk_id", "state", "resolved_at"),
        Index("ix_ticket_desk_opened", "desk_id", "opened_at"),
        Index("ix_ticket_desk_due", "desk_id", "due_at"),
        Index("ix_ticket_desk_next_check", "desk_id", "next_check_at"),
        Index("ix_ticket_desk_assignee", "desk_id", "assignee"),
        Index("ix_ticket_desk_team", "desk_id", "team"),
        # The reports and digests find a window's tickets by each of its times.
        Index("ix_ticket_desk_first_response", "desk_id", "first_response_at"),
        Index("ix_ticket_desk_resolved", "desk_id", "resolved_at"),
        Index("ix_ticket_desk_closed", "desk_id", "closed_at"),
        Index("ix_ticket_desk_rated", "desk_id", "rated_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"))
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), index=True)
    priority: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(20))
    requester_email: Mapped[str] = mapped_column(String(320), index=True)
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    assignee: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(String(60))
    # The unit named in the request's text (`classify.find_unit`), kept as written.
    unit: Mapped[str | None] = mapped_column(String(60))
    # The directory's unit: the requester's at opening, or the one staff set (`#unidad`).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # The requester's relation to that unit when the ticket was opened (`domain.Relation`).
    requester_relation: Mapped[str | None] = mapped_column(String(20))
    status_token: Mapped[str] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    related_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(20))
    foreign_tags: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Opened from mail that was already in the mailbox (imap.import_existing, ingest
    # --no-confirmation): it keeps the mail's dates and is never escalated.
    imported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The next SLA deadline while a target is unmet (None when paused or all met), kept by
    # `tickets.due.refresh_due`, so "overdue" is one indexed comparison in SQL.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the escalation pass must look at the ticket again: the next escalation
    # threshold (75 % of a target, its breach, 24 h open, …), or now after an SLA-relevant
    # change; None when nothing can escalate (closed, imported, everything fired). Kept by
    # `tickets.due.refresh_due` and the pass, so a pass reads only the tickets due.
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What PVI and Seiton record on a request: its configured type ([types]), the day work
    # starts and the day it must be done (staff set them; the deadline is the SLA's
    # resolution due date), and the final cause ([causes]) given when it closes.
    type: Mapped[str | None] = mapped_column(String(60))
    starts_on: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)
    cause: Mapped[str | None] = mapped_column(String(60))
    # When `maildesk purge` removed the requester's data: the row stays for the reports,
    # and a late reply opens a new ticket instead of reopening this one.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.id", foreign_keys="Message.ticket_id"
    )
    participants: Mapped[list[Participant]] = relationship(
        back_populates="ticket", order_by="Participant.id"
    )
    events: Mapped[list[Event]] = relationship(back_populates="ticket", order_by="Event.id")
    directory_unit: Mapped[Unit | None] = relationship()


class Participant(Base):
    """Someone who may write to a private ticket: requester, people in copy, staff."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("ticket_id", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    # The relay refused this address (5xx): staff see it, and its mail is not retried.
    bouncing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ticket: Mapped[Ticket] = relationship(back_populates="participants")


class Message(Base):
    __tablename__ = "message"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    public: Mapped[bool] = mapped_column(Boolean)
    sender_email: Mapped[str] = mapped_column(String(320))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    recipients: Mapped[str] = mapped_column(Text, default="")
    mid: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    defects: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"))
    ticket: Mapped[Ticket] = relationship(back_populates="messages", foreign_keys=[ticket_id])
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id"
    )


class Attachment(Base):
    """Metadata; the bytes live under `data_dir` by content hash (stored once)."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content_id: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[Message] = relationship(back_populates="attachments")


class Event(Base):
    """One line of a ticket's history: what changed, by whom, when."""

    __tablename__ = "event"
    # The reports read a window's state events (backlog, reopenings).
    __table_args__ = (Index("ix_event_kind_at", "kind", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    ticket: Mapped[Ticket] = relationship(back_populates="events")


class Inbound(Base):
    """A mail as received (its bytes in `InboundRaw`), stored once before anything else is
    done with it."""

    __tablename__ = "inbound"
    __table_args__ = (
        UniqueConstraint("desk_id", "dedupe_key"),
        UniqueConstraint("desk_id", "source_key"),
        Index("ix_inbound_status_id", "status", "id"),
        # `/metrics` counts stored mail by desk and status at every scrape.
        Index("ix_inbound_desk_status", "desk_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"))
    source: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    # Where the raw mail was kept until 0019; empty since (`InboundRaw` holds it). Kept
    # while the previous release's workers may still store mail here during an upgrade
    # (`inbound.store.raw_file` reads it back from either); deferred, as it may be 30 MB.
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, default=b"")
    size: Mapped[int] = mapped_column(Integer)
    envelope_from: Mapped[str | None] = mapped_column(String(320))
    envelope_to: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Not tried again before this time: set when a try is counted, so that a try the
    # process never came back from is retried only after a wait (`runner.pending`).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    verdict: Mapped[str] = mapped_column(String(20), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InboundRaw(Base):
    """A stored mail's bytes, written once at store time and never updated (a purge empties
    them): on SQLite every UPDATE of a row rebuilds it whole, and the `inbound` row is
    updated at each try and at the end, which cost twice a 30 MB mail each time."""

    __tablename__ = "inbound_raw"
    # The table's rowid on SQLite, so its incremental blob I/O finds the row by this id.
    inbound_id: Mapped[int] = mapped_column(
        ForeignKey("inbound.id"), primary_key=True, autoincrement=False
    )
    # Last column: SQLite writes a trailing zeroblob without making it in memory.
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class Outbox(Base):
    """A mail to send: its draft from intake, its bytes once the outbox worker built them
    (built once, before the first try, so the bytes never change between tries)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_recipient_created", "recipient", "created_at"),
        # The pruning's seek: sent and not yet pruned, oldest first (`outbox.prune_sent`).
        Index("ix_outbox_unpruned", "status", "pruned_at", "sent_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320))
    envelope_from: Mapped[str] = mapped_column(String(320))
    mid: Mapped[str] = mapped_column(String(998), index=True)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    draft: Mapped[str | None] = mapped_column(Text)  # `outbound.draft.Draft` as JSON
    automatic: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ref: Mapped[str] = mapped_column(String(320), default="")
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MailboxPosition(Base):
    """Where the watcher is in one IMAP folder: UIDVALIDITY and the last UID stored."""

    __tablename__ = "mailbox_position"
    mailbox: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    backfill_below_uid: Mapped[int | None] = mapped_column(BigInteger)
    backfill_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Connections the watchers made again after losing one (`/metrics`); never reset.
    reconnects: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class MailboxLease(Base):
    """Which fetch worker may fetch one mailbox, until when: taken over once it expires."""

    __tablename__ = "mailbox_lease"
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(500), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Escalation(Base):
    """An escalation that fired: once per ticket, target and level, whatever the workers."""

    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("ticket_id", "target", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    target: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduledRun(Base):
    """A periodic job's run for one period (a day's digest), claimed once across workers."""

    __tablename__ = "scheduled_run"
    __table_args__ = (UniqueConstraint("desk_id", "job", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"))
    job: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffLinkUse(Base):
    """A console sign-in link that was used: a link works once, whatever its expiry."""

    __tablename__ = "staff_link_use"
    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebRequest(Base):
    """A request typed on `/nueva`: no ticket until its address is proven by the mailed link.

    Only the SHA-256 of the link's token is kept, so the table opens no request by itself;
    `files` is a JSON list of the uploads (name, type, blob hash) in the `BlobStore`.
    """

    __tablename__ = "web_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    files: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), nullable=True)
    suggestions_shown: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Unit(Base):
    """A place of a building: an apartment, an office, a storage unit ("bodega 12").

    `key` is the normalised tower and unit (`directory.keys.unit_key`), so an import
    written with other case, accents or spacing finds the same unit.
    """

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("desk_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"))
    key: Mapped[str] = mapped_column(String(200))
    tower: Mapped[str] = mapped_column(String(100), default="")
    floor: Mapped[str] = mapped_column(String(20), default="")
    number: Mapped[str] = mapped_column(String(20), default="")
    label: Mapped[str] = mapped_column(String(100), default="")


class Person(Base):
    """Someone of the directory: an owner, a tenant, a relative; reached by their emails."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    phones: Mapped[str] = mapped_column(Text, default="")  # one per line
    emails: Mapped[list[PersonEmail]] = relationship(order_by="PersonEmail.email")


class PersonEmail(Base):
    """An address of a person: one person per address and desk, so mail finds them."""

    __tablename__ = "person_email"
    __table_args__ = (UniqueConstraint("desk_id", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))


class Residency(Base):
    """A person's relation to a unit (owner, tenant, other) from and until a day."""

    __tablename__ = "residency"
    __table_args__ = (UniqueConstraint("person_id", "unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    since: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    person: Mapped[Person] = relationship()
    unit: Mapped[Unit] = relationship()


class KbArticle(Base):
    """A knowledge-base article, copied from its Markdown file by `kb.index.sync`.

    The files are the source; this row is what the search index reads. The full-text
    structures are not mapped here (migration 0014): on SQLite the FTS5 table
    `kb_article_fts` (rowid = id) the sync fills with stems, on PostgreSQL the generated
    `search` tsvector column with its GIN index. `folded_title`/`folded_body` are the
    text without accents (`text.fold`), what PostgreSQL indexes.
    """

    __tablename__ = "kb_article"
    __table_args__ = (UniqueConstraint("desk_id", "language", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id"))
    language: Mapped[str] = mapped_column(String(8))
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    folded_title: Mapped[str] = mapped_column(Text)
    folded_body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
