"""Reports: every KPI defined once (`figures`), over day/week/month buckets in the desk's
timezone (`periods`), written as a table, CSV, XLSX, JSON or PDF (`formats`), with
charts (`charts`). `report_for` is the one entry point for the CLI, the digest and the
staff console; docs/reports.md defines each figure.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from maildesk.config import Config
from maildesk.context import Desk
from maildesk.reports.figures import build
from maildesk.reports.periods import By, Window
from maildesk.reports.tables import Report
from maildesk.text import fold

__all__ = ["By", "Report", "Window", "desk_names", "report_for"]


def desk_names(config: Config) -> list[str]:
    """What `--desk SLUG` may say for this desk: its name as a slug
    ("edificio-alameda-soporte"), its address's local part, or its address. Several
    desks, each with its own slug, come later."""
    address = config.desk.address.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", fold(config.desk.name)).strip("-")
    return [slug, address.split("@")[0], address]


def report_for(
    desk: Desk, first: date, last: date, by: By, *, now: datetime | None = None
) -> Report:
    """All figures of the local days `first`..`last` as plain data (read-only)."""
    window = Window(first, last, by, desk.config.desk.timezone)
    with desk.db.read_only() as session:
        return build(session, desk.config, desk.desk_id, window, now=now or desk.clock.now())
