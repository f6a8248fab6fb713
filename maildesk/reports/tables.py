"""A report as plain data: named tables of rows, with column kinds for the writers.

Every format (terminal, CSV, XLSX, JSON, PDF), the digest and the staff console read
this one structure, so the same number is the same everywhere. Rows keep stored
names (`en_progreso`, `alta`); the writers for people word them (`words.py`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from maildesk.reports.periods import Window


class Kind(enum.StrEnum):
    """How a column's values are read and shown."""

    TEXT = "text"
    INT = "int"
    HOURS = "hours"  # hours, 2 decimals; None when there is nothing to measure
    PCT = "pct"  # 0-100, 1 decimal
    NUMBER = "number"  # 2 decimals
    DATE = "date"  # a bucket's first day, YYYY-MM-DD
    TIME = "time"  # ISO 8601, UTC
    NAME = "name"  # a stored name worded by the row's `dimension` (or the column's key)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Report:
    """Every figure of a window; `tables` in the order people read them."""

    desk: str
    window: Window
    generated_at: datetime
    recurrence_days: int
    tables: Mapping[str, Table]
    charts: Mapping[str, bytes] = field(default_factory=dict)

    def with_charts(self, charts: Mapping[str, bytes]) -> Report:
        return replace(self, charts=charts)

    def table(self, name: str) -> Table:
        return self.tables[name]

    def as_data(self) -> dict[str, Any]:
        """All figures as plain JSON-ready data (the JSON format and the console use it)."""
        return {
            "schema": "maildesk-report/1",
            "desk": self.desk,
            "from": self.window.first.isoformat(),
            "to": self.window.last.isoformat(),
            "by": self.window.by.value,
            "timezone": self.window.timezone,
            "generated_at": self.generated_at.isoformat(),
            "recurrence_days": self.recurrence_days,
            "tables": {name: table.rows for name, table in self.tables.items()},
        }


def columns(*pairs: tuple[str, Kind]) -> tuple[Column, ...]:
    return tuple(Column(key, kind) for key, kind in pairs)


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """`percentile_cont(q)`: linear interpolation between the closest ranks."""
    if not ordered:
        return None
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
