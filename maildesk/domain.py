"""Plain value types shared by the pure rules and the I/O around them.

Nothing here touches a database, a socket or a clock, so every rule that takes
these values can be tested with literals.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class State(enum.StrEnum):
    """A ticket's life, in the words the seeds use."""

    RECIBIDO = "recibido"
    EN_PROGRESO = "en_progreso"
    EN_ESPERA = "en_espera"
    VALIDACION = "validacion"
    CERRADO = "cerrado"


# A ticket's state in words a resident understands, per desk language.
STATE_WORDS: dict[str, dict[str, str]] = {
    "es": {
        "recibido": "Recibida",
        "en_progreso": "En progreso",
        "en_espera": "En espera",
        "validacion": "Resuelta, esperando tu confirmación",
        "cerrado": "Cerrada",
    },
    "en": {
        "recibido": "Received",
        "en_progreso": "In progress",
        "en_espera": "Waiting",
        "validacion": "Resolved, awaiting your confirmation",
        "cerrado": "Closed",
    },
}


class Priority(enum.StrEnum):
    ALTA = "alta"
    MEDIA = "media"
    BAJA = "baja"


class Channel(enum.StrEnum):
    """Where a request came from: every channel is recorded (seeds: medio de ingreso)."""

    EMAIL = "email"
    PHONE = "phone"
    WALK_IN = "walk-in"
    WEB = "web"


class Relation(enum.StrEnum):
    """A person's relation to a unit of the directory (seeds: propietario, arrendatario)."""

    OWNER = "owner"
    TENANT = "tenant"
    OTHER = "other"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Role(enum.StrEnum):
    """Who acts on a ticket. Staff roles come from the config; the rest from the ticket."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    DIRECTOR = "director"
    ADMIN = "admin"
    RESIDENT = "resident"
    VENDOR = "vendor"
    SYSTEM = "system"


STAFF_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.MANAGER, Role.DIRECTOR, Role.ADMIN)
# Roles that see and act on every ticket of their desk (PVI: administradores, supervisores).
SUPERVISING = (Role.SUPERVISOR, Role.MANAGER, Role.DIRECTOR, Role.ADMIN)


class Via(enum.StrEnum):
    """The way an actor reached the desk: recorded with what they did."""

    MAIL = "mail"
    PAGE = "page"
    CONSOLE = "console"
    CLI = "cli"
    SCHEDULER = "scheduler"


class ParticipantRole(enum.StrEnum):
    """Why an address is on a ticket (it may then write to it)."""

    REQUESTER = "requester"
    CC = "cc"
    VENDOR = "vendor"


class MessageKind(enum.StrEnum):
    """What a message on a ticket is. Inbound kinds extend `MailKind`'s; outbound ones
    are the names of the mail templates (`OutboxKind`)."""

    NORMAL = "normal"
    NOTE = "note"
    VENDOR = "vendor"
    UNVERIFIED = "unverified"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    LOOP = "loop"


class OutboxKind(enum.StrEnum):
    """Every mail maildesk sends; each value names its templates under `templates/<lang>/`."""

    CONFIRMATION = "confirmation"
    STAFF_REPLY = "staff_reply"
    STATE_CHANGE = "state_change"
    STAFF_NOTICE = "staff_notice"
    COMMAND_ERROR = "command_error"
    VENDOR_REQUEST = "vendor_request"
    ESCALATION = "escalation"
    DIGEST = "digest"
    DIGEST_BUILDINGS = "digest_buildings"
    ALERTS = "alerts"
    RATE_LIMIT = "rate_limit"
    STATUS_LINK = "status_link"
    STAFF_UNPROVEN = "staff_unproven"
    STAFF_ELSEWHERE = "staff_elsewhere"
    STAFF_LINK = "staff_link"
    CONFIRM_ON_PAGE = "confirm_on_page"
    REQUESTS_LINK = "requests_link"
    WEB_REQUEST = "web_request"


class EventKind(enum.StrEnum):
    """A line of a ticket's history."""

    CREATED = "created"
    RELATED = "related"
    MESSAGE = "message"
    NOTE = "note"
    VENDOR = "vendor"
    UNVERIFIED = "unverified"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    CONFIRMATION_QUEUED = "confirmation_queued"
    STATE = "state"
    ASSIGNED = "assigned"
    PRIORITY = "priority"
    CATEGORY = "category"
    TYPE = "type"
    STARTS_ON = "starts_on"
    DEADLINE = "deadline"
    CAUSE = "cause"
    REPLY = "reply"
    RATED = "rated"
    TOKEN_ROTATED = "token_rotated"
    ESCALATED = "escalated"
    UNIT = "unit"
    ADDRESS_BOUNCING = "address_bouncing"
    # The confirmation carried knowledge-base suggestions (detail: their slugs).
    KB_SUGGESTED = "kb_suggested"
    # Staff made the closed ticket an article (`#kb`; detail: its file).
    KB_ARTICLE = "kb_article"


class Notice(enum.StrEnum):
    """Why a staff member gets a notice (`staff_notice` templates name each)."""

    NEW = "new"
    RESIDENT_REPLY = "resident_reply"
    REASSIGNED = "reassigned"
    REOPENED = "reopened"
    VENDOR_REPLY = "vendor_reply"
    UNVERIFIED = "unverified"
    RESIDENT_UNVERIFIED = "resident_unverified"
    NOTE = "note"
    CHANGED = "changed"  # someone else answered, moved or reassigned the holder's ticket
    WITHDRAWN = "withdrawn"  # the resident closed their own request from its page


class Change(enum.StrEnum):
    """A change the resident hears of (`state_change` templates name each)."""

    TAKEN = "taken"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CLOSED_FAILED = "closed_failed"
    REOPENED = "reopened"
    WITHDRAWN = "withdrawn"


class MailKind(enum.StrEnum):
    """What a mail is, as the loop-prevention rules see it."""

    NORMAL = "normal"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    LOOP = "loop"


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment or inline part, with its bytes already decoded."""

    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What maildesk needs of an inbound mail, decoded and sanitised.

    `headers` keeps every header (lower-cased name -> decoded values in order), so
    the loop rules can read what they need without going back to the raw bytes.
    `html` is already sanitised; `text` is the plain text (from the HTML when the
    mail had no plain part). `defects` lists what could not be read, so nothing is
    lost silently.
    """

    message_id: str | None
    subject: str
    from_addr: str
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: datetime | None = None
    text: str = ""
    html: str = ""
    attachments: tuple[Attachment, ...] = ()
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defects: tuple[str, ...] = ()
    bounced_message_ids: tuple[str, ...] = ()
    text_from_html: bool = False  # the mail had no plain part; `text` is the HTML's

    def header(self, name: str) -> str:
        """The first value of a header, or the empty string."""
        values = self.headers.get(name.lower(), ())
        return values[0] if values else ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The loop rules' answer for one mail.

    `process` False means the mail is set aside (recorded with `reason`, never
    lost). `may_autoreply` False means it may enter a ticket but we must not answer
    it automatically.
    """

    kind: MailKind
    process: bool
    may_autoreply: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ThreadDecision:
    """Which ticket a mail belongs to, and why (shown by `ingest --dry-run`)."""

    ticket_number: int | None
    signal: str
    reason: str
    related_number: int | None = None
