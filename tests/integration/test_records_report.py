"""Reports count requests by type and by intake medium, and closed ones by final cause, in every format."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import jsonschema
import openpyxl
import pypdf
import pytest
from sqlalchemy import select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.domain import Via
from maildesk.models import Ticket
from maildesk.reports import By, formats, report_for
from maildesk.reports.formats.jsonfile import schema
from maildesk.tickets import opening, staff
from maildesk.tickets.actor import Actor
from tests.conftest import DeskFactory

pytestmark = pytest.mark.integration

SOFIA = "sofia@alameda.example"
STAFF = [{"email": SOFIA, "name": "Sofía Rojas", "role": "supervisor", "teams": ["mantenimiento"]}]
MONDAY = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


@pytest.fixture
def desk(make_desk: DeskFactory, clock: FixedClock) -> Desk:
    desk = make_desk(
        staff=STAFF,
        desk={"channels": ["email", "phone", "whatsapp"]},
        types={"reclamo": {"name": "Reclamo"}, "consulta": {"name": "Consulta"}},
        causes={"desgaste": "Desgaste normal", "mal_uso": "Mal uso", "vandalismo": "Vandalismo"},
    )
    member = desk.config.staff_member(SOFIA)
    assert member is not None
    actor = Actor.staff(member, Via.CONSOLE)
    # (medium, type, final cause or None when left open, "" when closed without one)
    plan = [
        ("phone", "reclamo", "desgaste"),
        ("whatsapp", "reclamo", "desgaste"),
        ("whatsapp", "consulta", "mal_uso"),
        ("phone", "", ""),
        ("whatsapp", "consulta", None),
    ]
    for n, (medium, kind, cause) in enumerate(plan):
        now = MONDAY + timedelta(hours=n)
        clock.current = now
        with desk.db.transaction() as session:
            ticket = opening.open_for_resident(
                session,
                desk,
                actor,
                requester=f"r{n}@correo.example",
                name="Ñandú",
                subject=f"Solicitud {n}",
                text="Texto",
                channel=medium,
                now=now,
                kind=kind,
            )
        if cause is None:
            continue
        with desk.db.transaction() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == n + 1)).one()
            with staff.update(session, desk, ticket, actor, now + timedelta(minutes=30)) as change:
                change.set_cause(cause)
                change.close("Resuelto en terreno")
    return desk


def test_volume_by_type_and_medium_and_closed_by_cause(desk: Desk) -> None:
    """The hand count: 2 reclamos, 2 consultas, 1 untyped; 3 by WhatsApp, 2 by phone; closed 2 desgaste, 1 mal uso, 1 without, vandalismo none."""
    report = report_for(desk, date(2026, 11, 23), date(2026, 11, 29), By.WEEK)
    volume = {(r["dimension"], r["key"]): r["opened"] for r in report.table("volume_by").rows}
    assert {k: v for k, v in volume.items() if k[0] in ("type", "channel")} == {
        ("type", "reclamo"): 2,
        ("type", "consulta"): 2,
        ("type", ""): 1,
        ("channel", "whatsapp"): 3,
        ("channel", "phone"): 2,
    }
    assert report.table("closed_by_cause").rows == [
        {"cause": "desgaste", "label": "Desgaste normal", "closed": 2},
        {"cause": "mal_uso", "label": "Mal uso", "closed": 1},
        {"cause": "vandalismo", "label": "Vandalismo", "closed": 0},
        {"cause": "", "label": "", "closed": 1},
    ]
    data = json.loads(formats.write(report, "json", "es"))
    jsonschema.validate(data, schema())
    assert data["tables"]["closed_by_cause"][0] == {
        "cause": "desgaste",
        "label": "Desgaste normal",
        "closed": 2,
    }
    with zipfile.ZipFile(io.BytesIO(formats.write(report, "csv", "es"))) as archive:
        causes = list(csv.DictReader(io.StringIO(archive.read("closed_by_cause.csv").decode())))
    assert causes[1] == {"cause": "mal_uso", "label": "Mal uso", "closed": "1"}
    book = openpyxl.load_workbook(io.BytesIO(formats.write(report, "xlsx", "es")))
    sheet = book["closed_by_cause"]
    assert sheet["A1"].value == "Cerradas por causa final"
    assert [c.value for c in sheet[3]] == ["desgaste", "Desgaste normal", 2]
    table = formats.write(report, "table", "en").decode()
    assert "Closed by final cause" in table and "Desgaste normal" in table
    pdf = pypdf.PdfReader(io.BytesIO(formats.write(report, "pdf", "es")))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Cerradas por causa final" in text and "Desgaste normal" in text
