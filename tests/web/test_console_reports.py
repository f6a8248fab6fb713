"""The console's reports page: supervisors and above see the period's figures, charts and
downloads, the same numbers as `maildesk report`; agents get a clear refusal."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from maildesk.context import Desk
from maildesk.reports import By, formats, report_for
from tests.conftest import DeskFactory
from tests.web.conftest import client_for, open_ticket
from tests.web.consolekit import ANA, SOFIA, STAFF, sign_in


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    desk = make_desk(staff=STAFF)
    open_ticket(desk, subject="Fuga de agua en el baño del 402")
    open_ticket(desk, sender="otro@correo.example", subject="Ruidos molestos, torre Ñ")
    return desk


def signed(desk: Desk, who: str) -> FlaskClient:
    client = client_for(desk)
    sign_in(client, desk, who)
    return client


FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
PERIOD = f"from={FIRST}&to={LAST}&by=week"


def test_an_agent_is_refused_with_a_page_not_an_error(desk: Desk) -> None:
    """Reports are for supervision and up: an agent gets a 403 page that says so."""
    response = signed(desk, ANA).get(f"/staff/reportes?{PERIOD}")
    assert response.status_code == 403
    assert "supervisión" in response.get_data(as_text=True)
    assert (
        signed(desk, ANA).get(f"/staff/reportes/descargar?{PERIOD}&format=json").status_code == 403
    )


def test_not_signed_in_goes_to_the_sign_in_page(desk: Desk) -> None:
    """Without a session the reports redirect to the sign-in form."""
    response = client_for(desk).get("/staff/reportes")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")


def test_page_shows_the_same_figures_as_the_report_command(desk: Desk) -> None:
    """Every table of the period is on the page under its title, with the report's numbers."""
    response = signed(desk, SOFIA).get(f"/staff/reportes?{PERIOD}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    data = report_for(desk, FIRST, LAST, By.WEEK).as_data()
    assert data["tables"], "the report has tables"
    assert html.count('<section class="report">') == len(data["tables"])
    for kind in ("csv", "xlsx", "json", "pdf"):
        assert f"format={kind}" in html
    assert html.count("/staff/reportes/grafico/") == 3


def test_downloads_carry_the_report_as_the_cli_writes_it(desk: Desk) -> None:
    """JSON, CSV zip and XLSX downloaded from the page are the report of that period."""
    client = signed(desk, SOFIA)
    got = client.get(f"/staff/reportes/descargar?{PERIOD}&format=json")
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    expected = json.loads(
        formats.write(report_for(desk, FIRST, LAST, By.WEEK), "json", desk.language)
    )
    received = json.loads(got.data)
    assert received["tables"] == expected["tables"]
    zipped = zipfile.ZipFile(
        io.BytesIO(client.get(f"/staff/reportes/descargar?{PERIOD}&format=csv").data)
    )
    assert zipped.namelist()
    book = load_workbook(
        io.BytesIO(client.get(f"/staff/reportes/descargar?{PERIOD}&format=xlsx").data)
    )
    assert book.sheetnames
    assert client.get(f"/staff/reportes/descargar?{PERIOD}&format=exe").status_code == 400


def test_charts_are_png_and_a_bad_period_is_a_clear_400(desk: Desk) -> None:
    """Each chart is a PNG; an impossible period answers 400 with the reason, not a 500."""
    client = signed(desk, SOFIA)
    chart = client.get(f"/staff/reportes/grafico/volume.png?{PERIOD}")
    assert chart.status_code == 200 and chart.data.startswith(b"\x89PNG")
    assert client.get(f"/staff/reportes/grafico/nada.png?{PERIOD}").status_code == 404
    bad = client.get("/staff/reportes?from=2026-12-01&to=2026-11-01")
    assert bad.status_code == 400 and "AAAA-MM-DD" in bad.get_data(as_text=True)
