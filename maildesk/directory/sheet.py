"""A directory file's cells as text, each row with its line number (CSV or XLSX).

Administrations keep their lists in Excel or export them as CSV, with commas or (a
Spanish Excel's default) semicolons. Cells come back as text so one set of checks
(`rows.py`) reads both; dates typed in Excel come back as ISO dates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook

Line = tuple[int, list[str]]


class SheetError(Exception):
    """The file cannot be read at all (not UTF-8, not a spreadsheet)."""


def read(path: Path) -> list[Line]:
    """Every non-empty row with its line number (1 is the header), cells stripped."""
    lines = _xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv(path)
    return [(n, cells) for n, cells in lines if any(cells)]


def _csv(path: Path) -> Iterator[Line]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        yield number, [cell.strip() for cell in row]


def _xlsx(path: Path) -> Iterator[Line]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException…
        raise SheetError(f"{path}: not an XLSX workbook ({exc})") from exc
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(value) for value in row]
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
