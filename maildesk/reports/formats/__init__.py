"""Report writers, one module per format; `write` picks one by name."""

from __future__ import annotations

from collections.abc import Callable

from maildesk.reports.formats import csvzip, jsonfile, pdf, table, xlsx
from maildesk.reports.tables import Report

WRITERS: dict[str, Callable[[Report, str], bytes]] = {
    "table": table.write,
    "csv": csvzip.write,
    "xlsx": xlsx.write,
    "json": jsonfile.write,
    "pdf": pdf.write,
}
FORMATS = tuple(WRITERS)


def write(report: Report, name: str, language: str) -> bytes:
    return WRITERS[name](report, language)
