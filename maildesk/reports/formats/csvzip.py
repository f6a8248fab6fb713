"""CSV: a zip with one UTF-8 file per table; headers and values are the stored names,
the same keys as the JSON."""

from __future__ import annotations

import csv
import io
import zipfile

from maildesk.reports.tables import Report


def write(report: Report, language: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in report.tables.values():
            text = io.StringIO()
            writer = csv.DictWriter(text, [c.key for c in table.columns], lineterminator="\n")
            writer.writeheader()
            writer.writerows(table.rows)
            archive.writestr(f"{table.name}.csv", text.getvalue())
    return out.getvalue()
