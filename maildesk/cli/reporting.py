"""`maildesk report`: the KPIs of a period, in the format asked for."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from maildesk.cli.common import desk_of, emit
from maildesk.progress import Progress


def cmd_report(args: argparse.Namespace) -> int:
    from maildesk.reports import By, charts, formats, report_for
    from maildesk.reports.figures import BUILD_STEPS

    desk = desk_of(args)
    today = desk.clock.now().astimezone(ZoneInfo(desk.config.desk.timezone)).date()
    last = args.to or today
    first = args.from_ or last - timedelta(days=29)
    if last < first:
        print(f"--to {last} is before --from {first}", file=sys.stderr)
        return 2
    if args.format in ("csv", "xlsx", "pdf") and not args.output:
        print(f"--format {args.format} needs --output FILE", file=sys.stderr)
        return 2
    progress = Progress("report", BUILD_STEPS)
    report = report_for(desk, first, last, By(args.by), step=progress.step)
    progress.finish()
    if args.charts or args.format == "pdf":
        report = report.with_charts(charts.render(report, desk.language))
    if args.charts:
        folder = Path(args.charts)
        folder.mkdir(parents=True, exist_ok=True)
        for stem, png in report.charts.items():
            (folder / f"{stem}.png").write_bytes(png)
        print(f"wrote {len(report.charts)} charts to {folder}", file=sys.stderr)
    emit(formats.write(report, args.format, desk.language), args.output)
    return 0
