"""XLSX: one sheet per table, worded headers, column widths and number formats."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from maildesk.reports.tables import Kind, Report
from maildesk.reports.words import heading, shown, title

FORMATS = {Kind.HOURS: "0.00", Kind.PCT: "0.0", Kind.NUMBER: "0.00", Kind.INT: "0"}


def write(report: Report, language: str) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in report.tables.values():
        sheet = book.create_sheet(table.name[:31])
        sheet.append([title(table.name, language)])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([heading(c, language) for c in table.columns])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([shown(c, row, language) for c in table.columns])
        for i, column in enumerate(table.columns, start=1):
            letter = get_column_letter(i)
            values = [str(c.value or "") for c in sheet[letter][1:]]
            sheet.column_dimensions[letter].width = min(max(map(len, values), default=8) + 2, 60)
            if column.kind in FORMATS:
                for cell in sheet[letter][2:]:
                    cell.number_format = FORMATS[column.kind]
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
