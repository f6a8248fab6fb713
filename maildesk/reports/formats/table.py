"""The terminal table: each table under its title, numbers right-aligned."""

from __future__ import annotations

from maildesk.reports.tables import Kind, Report
from maildesk.reports.words import heading, period, shown, title

_NUMBERS = (Kind.INT, Kind.HOURS, Kind.PCT, Kind.NUMBER)


def _cell(value: object) -> str:
    return "—" if value is None else str(value)


def _line(values: list[str], widths: list[int], right: list[bool]) -> str:
    return (
        "  "
        + "  ".join(
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ).rstrip()
    )


def write(report: Report, language: str) -> bytes:
    window = report.window
    lines = [
        f"{report.desk} — {window.first} … {window.last}"
        f" ({period(window.by.value, language)}, {window.timezone})",
        "",
    ]
    for table in report.tables.values():
        lines += [title(table.name, language), ""]
        if not table.rows:
            lines += ["  —", ""]
            continue
        head = [heading(c, language) for c in table.columns]
        cells = [[_cell(shown(c, row, language)) for c in table.columns] for row in table.rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(head)]
        right = [c.kind in _NUMBERS for c in table.columns]

        rule = ["-" * w for w in widths]
        lines += [_line(v, widths, right) for v in (head, rule, *cells)] + [""]
    return "\n".join(lines).encode()
