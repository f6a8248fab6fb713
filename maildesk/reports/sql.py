"""The few SQL expressions that differ between SQLite and PostgreSQL.

PostgreSQL buckets timestamps with `date_trunc` after `AT TIME ZONE`; SQLite has no
time zones, so a deterministic Python function (`maildesk_bucket`) is registered on
its connection, cached by minute (every zone's offset is whole minutes). State
events keep their move as JSON in `event.detail`; it is read with `json_extract`
(SQLite) or `->>` (PostgreSQL). Durations between two columns are seconds.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Float, cast, func, literal_column, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from maildesk.models import Event
from maildesk.reports.periods import By, bucket_of


@functools.lru_cache(maxsize=200_000)
def _bucket(minute: str, by: str, timezone: str) -> str:
    moment = datetime.fromisoformat(minute).replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return bucket_of(moment.date(), By(by)).isoformat()


@functools.lru_cache(maxsize=100_000)
def _hour(hour: str, by: str, timezone: str) -> str | None:
    """The bucket of a whole UTC hour, or None when a local midnight falls inside it.

    A year has some 9,000 hours but half a million minutes: most timestamps are
    answered here, and only the hours holding a bucket's start go minute by minute.
    """
    first = _bucket(f"{hour}:00", by, timezone)
    return first if first == _bucket(f"{hour}:59", by, timezone) else None


def _sqlite_bucket(stored: str | None, by: str, timezone: str) -> str | None:
    if stored is None:
        return None
    return _hour(stored[:13], by, timezone) or _bucket(stored[:16], by, timezone)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def prepare(session: Session) -> None:
    """Register the SQLite helper on this session's connection (PostgreSQL needs none)."""
    if is_postgres(session):
        return
    raw: Any = session.connection().connection.dbapi_connection
    raw.create_function("maildesk_bucket", 3, _sqlite_bucket, deterministic=True)


def bucket(session: Session, column: Any, by: By, timezone: str) -> ColumnElement[str]:
    """The local bucket (`YYYY-MM-DD` of its first day) a stored UTC timestamp falls in."""
    if is_postgres(session):
        local = func.timezone(timezone, func.timezone("UTC", column))
        return func.to_char(func.date_trunc(by.value, local), "YYYY-MM-DD")
    return func.maildesk_bucket(column, by.value, timezone)


def state_field(session: Session, name: str) -> ColumnElement[Any]:
    """`from` or `to` of a state event's detail."""
    if is_postgres(session):
        value: ColumnElement[Any] = cast(Event.detail, JSON)[name].as_string()
    else:
        value = type_coerce(Event.detail, JSON)[name].as_string()
    return value


def seconds_between(session: Session, earlier: Any, later: Any) -> ColumnElement[Any]:
    """`later - earlier` in seconds."""
    if is_postgres(session):
        return func.extract("epoch", later - earlier)
    return cast((func.julianday(later) - func.julianday(earlier)) * 86400.0, Float)


def unindexed(session: Session, column: Any) -> ColumnElement[Any]:
    """`column`, telling SQLite's planner not to drive the query by its index.

    Without statistics SQLite prefers an index on an equality (`event.kind = 'state'`,
    `min(opened_at)` by the desk's index) even when another term finds a handful of
    rows; `+column` is its documented way to rule that index out. PostgreSQL plans
    from statistics and gets the column as it is.
    """
    if is_postgres(session):
        return type_coerce(column, column.type)
    return type_coerce(literal_column(f"+{column.table.name}.{column.name}"), column.type)
