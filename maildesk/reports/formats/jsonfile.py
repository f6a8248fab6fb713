"""JSON: `Report.as_data()`, valid against `report.schema.json` (the documented schema)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from maildesk.reports.tables import Report


def schema() -> dict[str, Any]:
    text = resources.files("maildesk.reports").joinpath("report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def write(report: Report, language: str) -> bytes:
    return json.dumps(report.as_data(), ensure_ascii=False, indent=2).encode()
