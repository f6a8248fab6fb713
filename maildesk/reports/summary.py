"""A report's headline: the few figures the managers' digest puts first (pure).

Read off the report's own tables, never counted again, so the digest says exactly
what `maildesk report` says for the same days (docs/reports.md defines each one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maildesk.reports.tables import Report


@dataclass(frozen=True, slots=True)
class Summary:
    opened: int
    resolved: int
    closed: int
    backlog: dict[str, int]  # tickets not closed now, per state (states with none left out)
    first_response_median_h: float | None  # calendar time
    resolution_median_h: float | None  # calendar time
    first_response_sla_pct: float | None  # compliance, all tickets
    resolution_sla_pct: float | None


def _all(report: Report, table: str, column: str, value: str) -> dict[str, Any]:
    """The `all` row of `table` for one measure or target, or an empty row."""
    for row in report.table(table).rows:
        if row["dimension"] == "all" and row[column] == value:
            return row
    return {}


def summary(report: Report) -> Summary:
    volume = report.table("volume_by_period").rows
    return Summary(
        opened=sum(r["opened"] for r in volume),
        resolved=sum(r["resolved"] for r in volume),
        closed=sum(r["closed"] for r in volume),
        backlog={
            r["state"]: r["tickets"] for r in report.table("backlog_now").rows if r["tickets"]
        },
        first_response_median_h=_all(report, "times", "measure", "first_response").get(
            "calendar_median_h"
        ),
        resolution_median_h=_all(report, "times", "measure", "resolution").get("calendar_median_h"),
        first_response_sla_pct=_all(report, "compliance", "target", "first_response").get("pct"),
        resolution_sla_pct=_all(report, "compliance", "target", "resolution").get("pct"),
    )
