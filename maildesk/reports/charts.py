"""The report's charts as PNG bytes (matplotlib, Agg backend: no display needed).

Volume over time, SLA compliance per priority and the backlog at each period's end,
drawn from the same tables every format writes.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from maildesk.reports.tables import Report  # noqa: E402
from maildesk.reports.words import HEADINGS, TERMS, title  # noqa: E402

CHARTS = ("volume", "compliance", "backlog")


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="png", dpi=100)
    pyplot.close(figure)
    return out.getvalue()


def volume(report: Report, language: str) -> bytes:
    rows = report.table("volume_by_period").rows
    figure, axes = pyplot.subplots(figsize=(8, 3.2))
    periods = [r["period"] for r in rows]
    axes.bar(
        periods, [r["opened"] for r in rows], label=HEADINGS[language]["opened"], color="#3e7cb1"
    )
    axes.plot(
        periods,
        [r["closed"] for r in rows],
        label=HEADINGS[language]["closed"],
        color="#d1495b",
        marker="o",
    )
    axes.set_title(title("volume_by_period", language))
    axes.legend()
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    return _png(figure)


def compliance(report: Report, language: str) -> bytes:
    rows = [r for r in report.table("compliance").rows if r["dimension"] == "priority"]
    figure, axes = pyplot.subplots(figsize=(8, 3.2))
    keys = sorted({r["key"] for r in rows})
    width = 0.4
    for shift, target in ((-width / 2, "first_response"), (width / 2, "resolution")):
        values = {r["key"]: r["pct"] or 0 for r in rows if r["target"] == target}
        axes.bar(
            [i + shift for i in range(len(keys))],
            [values.get(k, 0) for k in keys],
            width,
            label=TERMS[language][target],
        )
    axes.set_xticks(range(len(keys)), keys)
    axes.set_ylim(0, 100)
    axes.set_ylabel("%")
    axes.set_title(title("compliance", language))
    axes.legend()
    return _png(figure)


def backlog(report: Report, language: str) -> bytes:
    table = report.table("backlog_by_period")
    figure, axes = pyplot.subplots(figsize=(8, 3.2))
    periods = [r["period"] for r in table.rows]
    bottom = [0] * len(periods)
    for column in table.columns[1:-1]:
        values = [r[column.key] for r in table.rows]
        axes.bar(periods, values, bottom=bottom, label=column.key)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    axes.set_title(title("backlog_by_period", language))
    axes.legend(fontsize=7)
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    return _png(figure)


def render(report: Report, language: str) -> dict[str, bytes]:
    """Every chart, by file stem."""
    return {
        "volume": volume(report, language),
        "compliance": compliance(report, language),
        "backlog": backlog(report, language),
    }
