"""The console's reports page: the KPIs of a period with charts and downloads.

For supervisors and above (PVI: direction and supervision see the figures). Every
number comes from `maildesk.reports`, the same module as `maildesk report` and the
digests, so the page, the downloads and the mails agree. The period is in the query
string, so a page is a link a manager can keep.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from maildesk.context import Desk
from maildesk.domain import SUPERVISING, Role
from maildesk.reports import By, Report, report_for
from maildesk.reports.tables import Kind
from maildesk.reports.words import heading, shown, title
from maildesk.web import desk_of_app, page_language
from maildesk.web.console import console_context
from maildesk.web.console_auth import console_words, require_member

bp = Blueprint("console_reports", __name__)
bp.context_processor(console_context)

DOWNLOADS = {
    "csv": ("application/zip", "zip"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "json": ("application/json", "json"),
    "pdf": ("application/pdf", "pdf"),
}
_NUMBERS = (Kind.INT, Kind.HOURS, Kind.PCT, Kind.NUMBER)
_NO_STORE = {"Cache-Control": "no-store"}


@bp.before_request
def _supervising() -> ResponseReturnValue | None:
    member = require_member()
    if Role(member.role) in SUPERVISING:
        return None
    page = render_template(
        "console/forbidden.html.j2", problem=console_words()["reports_forbidden"]
    )
    return page, 403, _NO_STORE


def _period(desk: Desk) -> tuple[date, date, By] | None:
    """The period asked for (default: the last 30 days by week); None when it is not one."""
    today = desk.clock.now().astimezone(ZoneInfo(desk.config.desk.timezone)).date()
    try:
        last = date.fromisoformat(request.args["to"]) if request.args.get("to") else today
        first = (
            date.fromisoformat(request.args["from"])
            if request.args.get("from")
            else last - timedelta(days=29)
        )
        by = By(request.args.get("by") or By.WEEK.value)
    except ValueError:
        return None
    return (first, last, by) if first <= last else None


def _report(desk: Desk) -> Report:
    period = _period(desk)
    if period is None:
        abort(400)
    return report_for(desk, *period)


@bp.get("/staff/reportes")
def page() -> ResponseReturnValue:
    desk = desk_of_app()
    language = page_language()
    period = _period(desk)
    if period is None:
        problem = console_words()["reports_bad_period"]
        return render_template("console/reports.html.j2", problem=problem, tables=[]), 400
    report = report_for(desk, *period)
    tables = [
        (
            title(table.name, language),
            [(heading(c, language), c.kind in _NUMBERS) for c in table.columns],
            [[_cell(shown(c, row, language)) for c in table.columns] for row in table.rows],
        )
        for table in report.tables.values()
    ]
    first, last, by = period
    query = f"from={first}&to={last}&by={by.value}"
    return (
        render_template(
            "console/reports.html.j2",
            tables=tables,
            first=first,
            last=last,
            by=by.value,
            query=query,
            charts=("volume", "compliance", "backlog"),
            downloads=tuple(DOWNLOADS),
        ),
        200,
        _NO_STORE,
    )


def _cell(value: object) -> str:
    return "—" if value is None else str(value)


@bp.get("/staff/reportes/grafico/<name>.png")
def chart(name: str) -> ResponseReturnValue:
    from maildesk.reports import charts  # matplotlib: loaded when a chart is asked for

    desk = desk_of_app()
    drawn = charts.render(_report(desk), page_language())
    if name not in drawn:
        abort(404)
    return Response(drawn[name], mimetype="image/png", headers=_NO_STORE)


@bp.get("/staff/reportes/descargar")
def download() -> ResponseReturnValue:
    from maildesk.reports import charts, formats  # matplotlib, openpyxl, fpdf: when asked

    desk = desk_of_app()
    kind = request.args.get("format", "")
    if kind not in DOWNLOADS:
        abort(400)
    report = _report(desk)
    language = page_language()
    if kind == "pdf":
        report = report.with_charts(charts.render(report, language))
    mimetype, extension = DOWNLOADS[kind]
    window = report.window
    name = f"maildesk-{window.first}-{window.last}.{extension}"
    return Response(
        formats.write(report, kind, language),
        mimetype=mimetype,
        headers={**_NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )
