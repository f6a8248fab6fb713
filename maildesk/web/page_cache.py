"""The status page's rendered-page cache, and the one lookup that says whether a page is fresh.

Rendering `/t/<token>` loads the ticket, its messages, attachments and events and runs
the SLA clock; residents reload it and monitors poll it, and it rarely changes. One
indexed SELECT per request reads the ticket row by its token with the ids of its newest
message and event: that row, those ids and the minute (the page shows times to the
minute and whether the desk is open now) are the page's stamp. Any change to the ticket
(a state, a field, a reply by mail or from a form, a staff answer, a purge) changes the
row or adds a message or an event, so a new stamp, even when the clock has not moved.

Entries are per (token, language, URL prefix) and hold one stamp each, so a ticket's
old page is replaced, not piled up. What differs per viewer is never stored: the CSRF
token is written into the cached page when it is served, and a page with flashed notes
is not cached at all. The cache is bounded in bytes (least recently used out first)
because the daemon's memory is bounded too; an `OrderedDict` under a lock is all an LRU
of whole pages needs.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Dialect, Select, bindparam, func, select

from maildesk.db import Database
from maildesk.models import Event, Message, Ticket

# Enough for a few hundred typical pages (10-20 KB each) without weighing on the daemon.
MAX_BYTES = 4 * 1024 * 1024

# Written where the page's forms carry their CSRF token, replaced when the page is served.
# Random per process, so no text a resident writes can contain it.
CSRF_MARK = f"csrf-{secrets.token_hex(16)}"


def with_csrf(page: str, csrf_token: str) -> str:
    """A cached page as one viewer gets it: their signed CSRF token where its forms ask."""
    return page.replace(CSRF_MARK, csrf_token)


Key = tuple[Hashable, ...]
Stamp = tuple[Hashable, ...]


def _stamp_query() -> Select[tuple[object, ...]]:
    ticket = Ticket.__table__.c
    newest_message = (
        select(func.max(Message.id)).where(Message.ticket_id == Ticket.id).scalar_subquery()
    )
    newest_event = select(func.max(Event.id)).where(Event.ticket_id == Ticket.id).scalar_subquery()
    rest = [c for c in ticket if c.name not in ("id", "status_token")]
    return select(ticket.id, ticket.status_token, *rest, newest_message, newest_event).where(
        ticket.desk_id == bindparam("desk_id"), ticket.status_token == bindparam("token")
    )


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # the parameters' order, for a positional driver


_COMPILED: dict[str, _Compiled] = {}


def _compiled(dialect: Dialect) -> _Compiled:
    """The stamp query as the driver's own SQL, compiled once per dialect."""
    found = _COMPILED.get(dialect.name)
    if found is None:
        compiled = _stamp_query().compile(dialect=dialect)
        positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _COMPILED[dialect.name] = _Compiled(str(compiled), positions)
    return found


@dataclass(frozen=True, slots=True)
class Fresh:
    """The ticket a token opens, its token as stored (for a constant-time check), its stamp."""

    ticket_id: int
    status_token: str
    stamp: Stamp


def lookup(db: Database, desk_id: int, token: str, now: datetime) -> Fresh | None:
    """What the page of `token` is made of now, in one statement; None for no such ticket.

    This runs on every view, so it goes straight to the driver (`Database.read_row`): one
    SELECT in autocommit, without the ORM's, the Core's or the pool's bookkeeping (which
    cost several times the query itself), and on PostgreSQL without a BEGIN before and a
    ROLLBACK after, two round trips more than the query.
    """
    query = _compiled(db.engine.dialect)
    values = {"desk_id": desk_id, "token": token}
    params = values if query.positions is None else tuple(values[p] for p in query.positions)
    row = db.read_row(query.sql, params)
    if row is None:
        return None
    return Fresh(
        ticket_id=int(row[0]),
        status_token=str(row[1]),
        stamp=(*row, now.replace(second=0, microsecond=0)),
    )


class PageCache:
    """Rendered pages by key, each valid for one stamp; at most `max_bytes` of text."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Key, tuple[Stamp, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Key, stamp: Stamp) -> str | None:
        """The page stored for `key` when it was rendered for this very `stamp`."""
        with self._lock:
            found = self._pages.get(key)
            if found is None or found[0] != stamp:
                return None
            self._pages.move_to_end(key)
            return found[1]

    def put(self, key: Key, stamp: Stamp, page: str) -> None:
        if len(page) > self.max_bytes:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._size -= len(old[1])
            self._pages[key] = (stamp, page)
            self._size += len(page)
            while self._size > self.max_bytes:
                _, (_, evicted) = self._pages.popitem(last=False)
                self._size -= len(evicted)

    def __len__(self) -> int:
        return len(self._pages)
