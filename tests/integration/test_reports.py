"""`maildesk report` and `ticket export` over a small history built through the real
ticket actions, every figure counted by hand (docs/reports.md defines them).

The desk works Monday to Friday 09:00-18:00 in Santiago (UTC-3 in this season);
Tuesday 8 December 2026 is a public holiday in Chile.

  #1 Mon 23 Nov 10:00 "Fuga de agua, depto 402" (mantenimiento, media), Sofía answers
     11:00, asks the vendor gasfiter@, resolves 15:00, closes 16:00 with success; rated 5.
  #2 Fri 27 Nov 17:00 "URGENTE: sin agua" (alta), answered Mon 30 Nov 10:00, resolved
     Tue 1 Dec 10:00 and closed without success 11:00; rated 2 without comment.
  #3 Mon 7 Dec 17:00 "Fuga en el techo, depto 402" (mantenimiento), answered Wed 9 Dec
     10:00 across the holiday, vendor gasfiter@ again; still en progreso.
  #4 Tue 24 Nov 10:00 "Ruido en depto 402" answered 10:30, resolved 11:00, the resident
     rejects it at 12:00, resolved again 14:00; left in validación.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jsonschema
import openpyxl
import pypdf
import pytest
import sqlalchemy
from sqlalchemy import select

from maildesk.cli import main
from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.domain import Channel, Via
from maildesk.models import Ticket
from maildesk.reports import By, Report, formats, report_for
from maildesk.reports.clock import BusinessIndex
from maildesk.reports.formats.jsonfile import schema
from maildesk.sla.facts import sla_of
from maildesk.sla.policy import calendar_for
from maildesk.tickets import opening, resident, staff
from maildesk.tickets.actor import Actor
from tests.conftest import DeskFactory

pytestmark = pytest.mark.integration

SOFIA = "sofia@alameda.example"
VECINA = "vecina@correo.example"
VENDOR = "gasfiter@proveedor.example"
STAFF = [{"email": SOFIA, "name": "Sofía Rojas", "role": "supervisor", "teams": ["mantenimiento"]}]


def local(day: int, hour: float, month: int = 11) -> datetime:
    """A Santiago wall-clock time in late 2026 (UTC-3)."""
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour + 3)


def sofia(desk: Desk) -> Actor:
    member = desk.config.staff_member(SOFIA)
    assert member is not None
    return Actor.staff(member, Via.CONSOLE)


def open_one(desk: Desk, clock: FixedClock, at: datetime, subject: str) -> int:
    clock.current = at
    with desk.db.transaction() as session:
        return opening.open_for_resident(
            session,
            desk,
            sofia(desk),
            requester=VECINA,
            name="María Ñúñez",
            subject=subject,
            text=subject,
            channel=Channel.PHONE,
            now=at,
        ).number


def act(
    desk: Desk, clock: FixedClock, number: int, at: datetime, *steps: tuple[str, tuple[object, ...]]
) -> None:
    clock.current = at
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        with staff.update(session, desk, ticket, sofia(desk), at) as change:
            for name, args in steps:
                if name == "close_failed":
                    change.close(str(args[0]), success=False)
                else:
                    getattr(change, name)(*args)


def as_resident(
    desk: Desk, clock: FixedClock, number: int, at: datetime, what: str, **kw: object
) -> None:
    clock.current = at
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        getattr(resident, what)(
            session, desk, ticket, Actor.resident(VECINA, Via.PAGE), now=at, **kw
        )


@pytest.fixture
def history(make_desk: DeskFactory, clock: FixedClock) -> Desk:
    desk = make_desk(staff=STAFF)
    assert open_one(desk, clock, local(23, 10), "Fuga de agua, depto 402") == 1
    act(
        desk,
        clock,
        1,
        local(23, 11),
        ("answer", ("Vamos en camino.",)),
        ("ask_vendor", (VENDOR, "Revisar fuga")),
    )
    act(desk, clock, 1, local(23, 15), ("resolve", ("Cambiamos la llave.",)))
    act(desk, clock, 1, local(23, 16), ("close", ("Confirmado por teléfono.",)))
    as_resident(
        desk,
        clock,
        1,
        local(23, 17),
        "rate",
        rating=5,
        comment="¡Excelente atención! Año nuevo, ñandú.",
    )
    assert open_one(desk, clock, local(24, 10), "Ruido en depto 402") == 2
    act(desk, clock, 2, local(24, 10.5), ("answer", ("Hablaremos con el vecino.",)))
    act(desk, clock, 2, local(24, 11), ("resolve", ("Conversamos con el vecino.",)))
    as_resident(desk, clock, 2, local(24, 12), "reject", reason="Sigue el ruido")
    act(desk, clock, 2, local(24, 14), ("resolve", ("Segunda conversación.",)))
    assert open_one(desk, clock, local(27, 17), "URGENTE: sin agua") == 3
    act(desk, clock, 3, local(30, 10), ("answer", ("Revisamos la bomba.",)))
    act(desk, clock, 3, local(1, 10, 12), ("resolve", ("Bomba sin repuesto.",)))
    act(desk, clock, 3, local(1, 11, 12), ("close_failed", ("Sin repuesto disponible.",)))
    as_resident(desk, clock, 3, local(1, 12, 12), "rate", rating=2, comment="")
    assert open_one(desk, clock, local(7, 17, 12), "Fuga en el techo, depto 402") == 4
    act(
        desk,
        clock,
        4,
        local(9, 10, 12),
        ("answer", ("Mañana vamos.",)),
        ("ask_vendor", (VENDOR, "Otra fuga")),
    )
    clock.current = local(11, 12, 12)
    return desk


def the_report(desk: Desk) -> Report:
    return report_for(desk, date(2026, 11, 23), date(2026, 12, 13), By.WEEK)


def rows(report: Report, name: str, **where: object) -> list[dict[str, object]]:
    return [r for r in report.table(name).rows if all(r[k] == v for k, v in where.items())]


def test_every_figure_matches_the_hand_count(history: Desk) -> None:
    """Volume, times in both clocks (weekend and holiday), compliance, backlog, recurrence, outcomes and ratings are the hand-counted numbers."""
    report = the_report(history)
    assert report.table("volume_by_period").rows == [
        {"period": "2026-11-23", "opened": 3, "resolved": 2, "closed": 1},
        {"period": "2026-11-30", "opened": 0, "resolved": 1, "closed": 1},
        {"period": "2026-12-07", "opened": 1, "resolved": 0, "closed": 0},
    ]
    volume = {(r["dimension"], r["key"]): r["opened"] for r in report.table("volume_by").rows}
    assert volume == {
        ("category", "mantenimiento"): 2,
        ("category", "convivencia"): 1,
        ("category", "general"): 1,
        ("priority", "media"): 3,
        ("priority", "alta"): 1,
        ("channel", "phone"): 4,
        ("type", ""): 4,
        ("team", "administración"): 2,
        ("team", "mantenimiento"): 2,
    }
    # First responses: #1 1 h, #2 0.5 h, #3 65 h (2 business: Fri 17-18, Mon 9-10), #4 41 h
    # (2 business: Mon 17-18, Tuesday the 8th a holiday, Wed 9-10).
    first = rows(report, "times", dimension="all", measure="first_response")[0]
    assert first == {
        "dimension": "all",
        "key": "",
        "measure": "first_response",
        "n": 4,
        "calendar_mean_h": 26.88,
        "calendar_median_h": 21.0,
        "calendar_p90_h": 57.8,
        "business_mean_h": 1.38,
        "business_median_h": 1.5,
        "business_p90_h": 2.0,
    }
    # Resolutions: #1 5 h, #2 4 h (3 on the clock: it stopped 11:00-12:00 in validación),
    # #3 89 h (11 business: 1 + 9 + 1).
    resolution = rows(report, "times", dimension="all", measure="resolution")[0]
    assert (
        resolution["n"],
        resolution["calendar_mean_h"],
        resolution["calendar_median_h"],
        resolution["calendar_p90_h"],
    ) == (3, 32.67, 5.0, 72.2)
    assert (
        resolution["business_mean_h"],
        resolution["business_median_h"],
        resolution["business_p90_h"],
    ) == (6.33, 5.0, 9.8)
    holiday = rows(
        report, "times", dimension="category", key="mantenimiento", measure="first_response"
    )[0]
    assert (holiday["calendar_mean_h"], holiday["business_mean_h"]) == (
        21.0,
        1.5,
    )  # #1 1 h/1 h, #4 41 h/2 h
    compliance = {
        (r["dimension"], r["key"], r["target"]): (r["n"], r["met"], r["pct"])
        for r in report.table("compliance").rows
    }
    assert compliance[("priority", "media", "first_response")] == (
        3,
        2,
        66.7,
    )  # #4 took 41 h of 4 h
    assert compliance[("priority", "alta", "resolution")] == (1, 0, 0.0)  # 89 h of 8 h
    assert compliance[("priority", "media", "resolution")] == (2, 2, 100.0)
    assert compliance[("vendor", VENDOR, "first_response")] == (2, 1, 50.0)
    assert compliance[("team", "administración", "first_response")] == (2, 1, 50.0)
    assert compliance[("all", "", "resolution")] == (3, 2, 66.7)
    assert [
        (r["period"], r["recibido"], r["validacion"], r["open"])
        for r in report.table("backlog_by_period").rows
    ] == [
        ("2026-11-23", 1, 1, 2),
        ("2026-11-30", 0, 1, 1),
        ("2026-12-07", 1, 1, 2),
    ]
    assert {
        r["state"]: (r["tickets"], r["older_24h"]) for r in report.table("backlog_now").rows
    } == {
        "recibido": (1, 1),
        "en_progreso": (0, 0),
        "en_espera": (0, 0),
        "validacion": (1, 1),
    }
    assert [(r["dimension"], r["key"], r["numbers"]) for r in report.table("recurrence").rows] == [
        ("unit", "depto 402", "#1 #2 #4"),
        ("unit_category", "depto 402 · mantenimiento", "#1 #4"),
        ("vendor", VENDOR, "#1 #4"),
    ]
    assert {r["metric"]: r["value"] for r in report.table("quality").rows} == {
        "resolved": 3,
        "reopened": 1,
        "reopen_rate_pct": 33.3,
        "closed_success": 1,
        "closed_failure": 1,
        "rated": 2,
        "rating_mean": 3.5,
    }
    assert [r["tickets"] for r in report.table("ratings").rows] == [0, 1, 0, 0, 1]
    assert [(r["number"], r["comment"]) for r in report.table("comments").rows] == [
        (1, "¡Excelente atención! Año nuevo, ñandú.")
    ]
    assert [
        (r["number"], r["calendar_h"], r["business_h"]) for r in report.table("slowest").rows
    ] == [(3, 89.0, 11.0), (1, 5.0, 5.0), (2, 4.0, 3.0)]


def test_compliance_is_the_sla_clock_of_ticket_show(history: Desk) -> None:
    """Each ticket's met/missed in the report is what `sla_of` (ticket show, escalations) says."""
    report = the_report(history)
    with history.db.read_only() as session:
        tickets = list(session.scalars(select(Ticket).order_by(Ticket.number)))
        met = {
            t.number: {k: s.met for k, s in sla_of(history.config, t, history.clock.now()).items()}
            for t in tickets
        }
    assert met == {
        1: {"first_response": True, "resolution": True},
        2: {"first_response": True, "resolution": True},
        3: {"first_response": False, "resolution": False},
        4: {"first_response": False, "resolution": None},
    }
    total = rows(report, "compliance", dimension="all", target="first_response")[0]
    assert total["met"] == sum(bool(m["first_response"]) for m in met.values())


def test_business_index_equals_the_calendar(history: Desk) -> None:
    """The indexed business time equals the SLA calendar's own count across weekends, a holiday and partial days."""
    calendar = calendar_for(history.config, [2026, 2027])
    index = BusinessIndex(calendar, date(2026, 11, 20), date(2026, 12, 31))
    start = local(21, 7.25)
    for hours_later in (0.5, 13, 50, 75.75, 170, 400.5):
        end = start + timedelta(hours=hours_later)
        assert index.seconds(start, end) == calendar.business_seconds(start, end)
        start += timedelta(hours=7.4)


def test_every_format_carries_the_same_numbers(history: Desk, tmp_path: object) -> None:
    """XLSX (openpyxl), CSV (zip), JSON (valid against its schema) and PDF (text) show the figures of the report."""
    report = the_report(history)
    data = json.loads(formats.write(report, "json", "es"))
    jsonschema.validate(data, schema())
    assert data["tables"]["quality"][2] == {"metric": "reopen_rate_pct", "value": 33.3}
    with zipfile.ZipFile(io.BytesIO(formats.write(report, "csv", "es"))) as archive:
        assert len(archive.namelist()) == len(report.tables)
        times = list(csv.DictReader(io.StringIO(archive.read("times.csv").decode())))
    assert times[0]["calendar_p90_h"] == "57.8" and times[0]["business_mean_h"] == "1.38"
    book = openpyxl.load_workbook(io.BytesIO(formats.write(report, "xlsx", "es")))
    assert book.sheetnames == list(report.tables)
    sheet = book["times"]
    assert sheet["A1"].value == "Tiempos de primera respuesta y resolución (horas)"
    assert [c.value for c in sheet[3]][:5] == ["todas", "todas", "primera respuesta", 4, 26.88]
    assert sheet["E3"].number_format == "0.00"
    comments = book["comments"]
    assert comments["C3"].value == "¡Excelente atención! Año nuevo, ñandú."
    pdf = pypdf.PdfReader(io.BytesIO(formats.write(report, "pdf", "es")))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Cumplimiento de SLA" in text and "Año nuevo, ñandú" in text and "57.8" in text
    table = formats.write(report, "table", "en").decode()
    assert "SLA compliance" in table and "in progress" in table and "57.8" in table


def test_report_command_writes_files_and_charts(
    history: Desk, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """`maildesk report` writes the XLSX and the PNG charts, refuses another desk, and prints the table by default."""
    from pathlib import Path

    folder = Path(str(tmp_path))
    config = str(history.config.base_dir / "maildesk.toml")
    args = ["--config", config, "report", "--from", "2026-11-23", "--to", "2026-12-13"]
    assert (
        main(
            [
                *args,
                "--format",
                "xlsx",
                "--output",
                str(folder / "r.xlsx"),
                "--charts",
                str(folder / "charts"),
                "--desk",
                "soporte",
            ]
        )
        == 0
    )
    assert openpyxl.load_workbook(folder / "r.xlsx").sheetnames[0] == "volume_by_period"
    assert sorted(p.name for p in (folder / "charts").iterdir()) == [
        "backlog.png",
        "compliance.png",
        "volume.png",
    ]
    assert (folder / "charts" / "volume.png").read_bytes().startswith(b"\x89PNG")
    assert main([*args, "--desk", "otra-torre"]) == 1
    capsys.readouterr()
    assert main([*args, "--by", "month"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-01" in out and "Volumen por período" in out


def test_ticket_export_json_and_pdf(history: Desk, tmp_path: object) -> None:
    """`ticket export` gives every public and internal message, event and time, as JSON and as PDF."""
    from pathlib import Path

    folder = Path(str(tmp_path))
    config = str(history.config.base_dir / "maildesk.toml")
    assert (
        main(["--config", config, "ticket", "export", "1", "--output", str(folder / "t.json")]) == 0
    )
    data = json.loads((folder / "t.json").read_text())
    assert data["number"] == 1 and data["exported_at"]
    assert {m["public"] for m in data["messages"]} == {True, False}
    assert [e["kind"] for e in data["events"]].count("state") == 2
    assert (
        main(
            [
                "--config",
                config,
                "ticket",
                "export",
                "1",
                "--format",
                "pdf",
                "--output",
                str(folder / "t.pdf"),
            ]
        )
        == 0
    )
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(folder / "t.pdf").pages)
    assert "Fuga de agua, depto 402" in text and "Vamos en camino." in text and VENDOR in text
    assert main(["--config", config, "ticket", "export", "99"]) == 1


def test_a_days_report_reads_that_day_not_the_history(history: Desk) -> None:
    """Every query of a one-day report (the daily digest's) finds its tickets and events by index on SQLite; on PostgreSQL, which scans tables this small, the indexes it would use exist."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    sqlalchemy.event.listen(history.db.engine, "before_cursor_execute", record)
    try:
        report_for(history, date(2026, 12, 9), date(2026, 12, 9), By.DAY)
    finally:
        sqlalchemy.event.remove(history.db.engine, "before_cursor_execute", record)
    assert len(seen) > 10
    if history.db.is_postgres:
        with history.db.engine.connect() as conn:
            names = set(conn.exec_driver_sql("SELECT indexname FROM pg_indexes").scalars())
        wanted = {"ix_ticket_desk_opened", "ix_ticket_desk_resolved", "ix_event_kind_at"}
        assert wanted <= names, wanted - names
        return
    scans = []
    with history.db.engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        raw.create_function("maildesk_bucket", 3, lambda *a: None, deterministic=True)
        for statement, parameters in seen:
            for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters):
                # A scan, or a search by desk alone, reads the whole history.
                step = row[-1]
                whole = re.match(r"(SCAN|SEARCH) (ticket|event)\b", step) and not re.search(
                    r"(_at|\bat)[<>=]|state=|PRIMARY KEY|ticket_id=", step
                )
                if whole:
                    scans.append((step, statement.split("FROM")[1][:80]))
    assert scans == [], "\n".join(map(str, scans))
