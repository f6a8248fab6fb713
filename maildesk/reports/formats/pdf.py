"""PDF (fpdf2): the period, every table and the charts, in the desk's language.

DejaVu Sans, shipped with matplotlib, draws every accent, Ñ and dash.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF

from maildesk.reports import charts
from maildesk.reports.tables import Report
from maildesk.reports.words import heading, period, shown, title

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def document() -> FPDF:
    """A page set-up with a Unicode font, for the report and the ticket export."""
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    return pdf


def _cell(value: object) -> str:
    return "—" if value is None else str(value)


def write(report: Report, language: str) -> bytes:
    pdf = document()
    window = report.window
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 10, report.desk, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(
        0,
        6,
        f"{window.first} … {window.last} · {period(window.by.value, language)} · {window.timezone}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for png in (report.charts or charts.render(report, language)).values():
        pdf.image(io.BytesIO(png), w=200)
    for table in report.tables.values():
        pdf.set_font("DejaVu", "B", 12)
        pdf.ln(3)
        pdf.cell(0, 8, title(table.name, language), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 7)
        if not table.rows:
            pdf.cell(0, 5, "—", new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(first_row_as_headings=True, line_height=4.5) as grid:
            grid.row([heading(c, language) for c in table.columns])
            for row in table.rows:
                grid.row([_cell(shown(c, row, language)) for c in table.columns])
    return bytes(pdf.output())
