"""Reports: every KPI defined once (`figures`), over day/week/month buckets in the desk's
timezone (`periods`), written as a table, CSV, XLSX, JSON or PDF (`formats`), with
charts (`charts`). `report_for` is the one entry point for the CLI, the digest and the
staff console; docs/reports.md defines each figure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from maildesk.context import Desk
from maildesk.reports.figures import build
from maildesk.reports.periods import By, Window
from maildesk.reports.tables import Report

__all__ = ["By", "Report", "Window", "report_for"]


def report_for(
    desk: Desk,
    first: date,
    last: date,
    by: By,
    *,
    now: datetime | None = None,
    step: Callable[[], None] = lambda: None,
) -> Report:
    """All figures of the local days `first`..`last` as plain data (read-only); `step` is
    called `figures.BUILD_STEPS` times along the way."""
    window = Window(first, last, by, desk.config.desk.timezone)
    with desk.db.read_only() as session:
        return build(
            session, desk.config, desk.desk_id, window, now=now or desk.clock.now(), step=step
        )
