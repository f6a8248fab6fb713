"""The directory: imported from an administration's CSV or XLSX (all rows or none, twice
the same), a known sender's unit and relation at opening, `#unidad` by mail and the
console's unit form, and recurrence by unit and tower in the report — on SQLite and
PostgreSQL."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from maildesk import cli
from maildesk.context import Desk
from maildesk.domain import Channel, Via
from maildesk.inbound.accept import accept
from maildesk.models import Event, Outbox, Person, PersonEmail, Residency, Ticket, Unit
from maildesk.reports import By, formats, report_for
from maildesk.tickets import opening
from maildesk.tickets.actor import Actor
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.outmail import queued_mail
from tests.web.conftest import client_for, csrf_of
from tests.web.consolekit import sign_in

pytestmark = pytest.mark.integration

ANA = "ana@alameda.example"  # agent, mantenimiento
SOFIA = "sofia@alameda.example"  # supervisor
STAFF = [
    {"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]},
    {"email": SOFIA, "name": "Sofía Rojas", "role": "supervisor", "teams": ["administración"]},
]
TRUSTED = "mx.alameda.example"
PROVEN = {"Authentication-Results": f"{TRUSTED}; dkim=pass header.d=alameda.example"}
OWNER = "inigo@correo.example"
TENANT = "mar@correo.example"
STRANGER = "nadie@correo.example"

# A Spanish Excel's CSV export: semicolons, accents, Ñ, dates as DD-MM-YYYY.
CSV = """\
Torre;Unidad;Nombre;Correo;Teléfono;Relación;Desde;Hasta
Torre Ñandú;402;Íñigo Peñalolén;Inigo@Correo.example;+56 9 1111 2222;Propietario;01-03-2020;
Torre Ñandú;401;Mar Ñúñez;mar@correo.example;;arrendataria;2024-01-01;
Torre Ñandú;401;Íñigo Peñalolén;inigo@correo.example;;propietario;;
Torre Ñandú;Bodega 12;;;;;;
"""


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF, desk={"trusted_authserv_ids": [TRUSTED]})


def body_of(raw: bytes) -> str:
    """The plain text of a queued mail, decoded."""
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def run(desk: Desk, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["--config", str(desk.config.source), *args])
    out, err = capsys.readouterr()
    return code, out, err


def directory(desk: Desk) -> list[tuple[Any, ...]]:
    """Every unit, person, address and residency, as plain values."""
    with desk.db.read_only() as session:
        units = [(u.key, u.tower, u.number, u.label) for u in session.scalars(select(Unit))]
        people = [(p.name, p.phones) for p in session.scalars(select(Person))]
        emails = list(session.scalars(select(PersonEmail.email)))
        stays = [(r.relation, r.since, r.until) for r in session.scalars(select(Residency))]
        return sorted(map(str, units + people + emails + stays))


def imported(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "directorio.csv"
    path.write_text(CSV, encoding="utf-8")
    code, out, err = run(desk, capsys, "directory", "import", str(path))
    assert code == 0, err


def test_csv_and_xlsx_import_with_accents_and_twice_changes_nothing(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "directorio.csv"
    path.write_text(CSV, encoding="utf-8")
    code, out, err = run(desk, capsys, "directory", "import", str(path), "--desk", "soporte")
    assert code == 0, err
    # 3 units, 2 people, 2 addresses, 3 residencies
    assert "4 rows, 10 added, 0 changed" in out
    code, out, _ = run(desk, capsys, "directory", "import", str(path))
    assert code == 0 and "0 added, 0 changed" in out

    # The same people kept in Excel: one phone more, a tenant who left, a new unit.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["TORRE", "UNIDAD", "NOMBRE", "CORREO", "TELEFONO", "RELACION", "DESDE", "HASTA"])
    sheet.append(
        ["Torre Ñandú", "Depto 402", "Íñigo Peñalolén", OWNER, "+56 2 3333", "owner", None, None]
    )
    sheet.append(["ñandu", "401", "Mar Ñúñez", TENANT, None, "tenant", "2024-01-01", "2026-06-30"])
    sheet.append(
        ["Torre Ñandú", "403", "Ñusta Peñalolén", "nusta@correo.example", None, "otro", None, None]
    )
    xlsx = tmp_path / "directorio.xlsx"
    book.save(xlsx)
    code, out, err = run(desk, capsys, "directory", "import", str(xlsx))
    assert code == 0, err
    # unit 403, Ñusta, her address and residency added; Íñigo's phones and since, Mar's until changed
    assert "4 added, 3 changed" in out
    code, out, _ = run(desk, capsys, "directory", "import", str(xlsx))
    assert "0 added, 0 changed" in out

    code, out, _ = run(desk, capsys, "directory", "show", "ñandú 402", "--format", "json")
    shown = json.loads(out)
    assert shown["unit"] == "Torre Ñandú, depto 402"
    (person,) = shown["people"]
    assert person["name"] == "Íñigo Peñalolén" and person["relation"] == "owner"
    assert person["phones"] == ["+56 9 1111 2222", "+56 2 3333"]
    assert person["emails"] == [OWNER]
    code, out, _ = run(desk, capsys, "directory", "show", "401")
    assert "Mar Ñúñez · arrendatario 2024-01-01–2026-06-30 (former)" in out
    code, out, _ = run(desk, capsys, "directory", "list")
    assert "Torre Ñandú, Bodega 12" in out and "Ñusta Peñalolén" in out


def test_one_bad_row_leaves_the_directory_unchanged(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported(desk, tmp_path, capsys)
    before = directory(desk)
    bad = tmp_path / "con-error.csv"
    bad.write_text(
        "torre,unidad,nombre,correo,relacion\n"
        "Torre Ñandú,402,Íñigo Peñalolén,inigo@correo.example,arrendatario\n"
        "Torre Ñandú,405,Nuevo Vecino,nuevo@correo.example,propietario\n"
        "Torre Ñandú,406,Otro Vecino,otro(at)correo.example,propietario\n",
        encoding="utf-8",
    )
    code, _, err = run(desk, capsys, "directory", "import", str(bad))
    assert code == 1
    assert "line 4: 'otro(at)correo.example' is not an email address" in err
    assert "nothing was changed" in err
    assert directory(desk) == before


def test_a_known_sender_brings_their_unit_and_relation(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported(desk, tmp_path, capsys)
    # Íñigo owns 402 and 401; his text names 401: that is his unit for this request.
    mail = make_mail(sender=OWNER, subject="Filtración", body="Gotea el techo del depto 401.")
    assert accept(desk, mail, source="pipe").status == "processed"
    # Mar rents 401 but writes about 402 (a neighbour's leak): both are shown.
    mail = make_mail(sender=TENANT, subject="Ruido", body="Ruidos fuertes en el depto 402.")
    assert accept(desk, mail, source="pipe").status == "processed"
    # Someone the directory does not know still opens a ticket, without a unit.
    assert accept(desk, make_mail(sender=STRANGER), source="pipe").status == "processed"

    with desk.db.read_only() as session:
        tickets = {t.number: t for t in session.scalars(select(Ticket))}
        units = {u.id: u.number for u in session.scalars(select(Unit))}
        assert (units[tickets[1].unit_id], tickets[1].requester_relation) == ("401", "owner")
        assert (units[tickets[2].unit_id], tickets[2].requester_relation) == ("401", "tenant")
        assert tickets[2].unit == "depto 402"
        assert tickets[3].unit_id is None and tickets[3].requester_relation is None
        ticket_id = tickets[2].id
    notice, *_ = queued_mail(desk, Outbox.ticket_id == ticket_id, Outbox.kind == "staff_notice")
    text = body_of(notice)
    assert "Unidad: Torre Ñandú, depto 401 (arrendatario)" in text
    assert "Unidad nombrada en el texto: depto 402" in text
    code, out, _ = run(desk, capsys, "ticket", "show", "2", "--format", "json")
    data = json.loads(out)
    assert data["directory_unit"] == "Torre Ñandú, depto 401"
    assert data["requester_relation"] == "tenant" and data["unit"] == "depto 402"
    code, out, _ = run(desk, capsys, "ticket", "show", "2")
    assert "unit Torre Ñandú, depto 401 (arrendatario) · named in the text: depto 402" in out


def test_an_english_desk_words_the_unit_and_relation(
    make_desk: DeskFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = make_desk(staff=STAFF, desk={"language": "en"})
    imported(desk, tmp_path, capsys)
    mail = make_mail(sender=TENANT, subject="Ruido", body="Ruidos fuertes en el depto 402.")
    assert accept(desk, mail, source="pipe").status == "processed"
    [raw] = queued_mail(desk, Outbox.kind == "staff_notice")
    text = body_of(raw)
    assert "Unit: tower Ñandú, apt. 401 (tenant)" in text
    assert "Unit named in the text: apt. 402" in text
    code, out, _ = run(desk, capsys, "ticket", "show", "1")
    assert "unit tower Ñandú, apt. 401 (tenant) · named in the text: apt. 402" in out


def test_a_unit_chosen_at_the_lobby_is_the_directory_unit(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported(desk, tmp_path, capsys)
    sofia = desk.config.staff_member(SOFIA)
    assert sofia is not None
    with desk.db.transaction() as session:
        ticket = opening.open_for_resident(
            session,
            desk,
            Actor.staff(sofia, Via.CONSOLE),
            requester="",
            name="Conserje",
            subject="Puerta forzada",
            text="La puerta de la bodega está forzada.",
            channel=Channel.WALK_IN,
            now=desk.clock.now(),
            unit="Bodega 12",
        )
        assert ticket.directory_unit is not None and ticket.directory_unit.label == "Bodega 12"
        assert ticket.requester_relation is None and ticket.unit == "Bodega 12"


def staff_reply(desk: Desk, number: int, body: str) -> None:
    mail = make_mail(sender=SOFIA, subject=f"Re: [#{number}] Ruido", body=body, headers=PROVEN)
    assert accept(desk, mail, source="pipe").status == "processed"


def test_unidad_by_mail_sets_the_unit_and_an_unknown_one_is_refused(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported(desk, tmp_path, capsys)
    accept(desk, make_mail(sender=STRANGER, body="Hay ruidos."), source="pipe")

    staff_reply(desk, 1, "#unidad Ñandú 402")
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.directory_unit is not None and ticket.directory_unit.number == "402"
        event = session.scalars(select(Event).where(Event.kind == "unit")).one()
        assert json.loads(event.detail) == {"from": None, "to": "Torre Ñandú, depto 402"}
        before = session.scalar(select(func.count()).select_from(Event))

    staff_reply(desk, 1, "#unidad 4021\n#prioridad alta")
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.directory_unit is not None and ticket.directory_unit.number == "402"
        assert ticket.priority != "alta"
        assert session.scalar(select(func.count()).select_from(Event)) == before
    [refusal] = queued_mail(desk, Outbox.kind == "command_error", Outbox.recipient == SOFIA)
    text = body_of(refusal)
    assert "Esa unidad no está en el directorio" in text
    assert "«4021»; las más parecidas son: Torre Ñandú, depto 401 · Torre Ñandú, depto 402" in text


def test_the_console_sets_the_unit_through_the_same_action(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported(desk, tmp_path, capsys)
    accept(desk, make_mail(sender=STRANGER, body="Hay ruidos."), source="pipe")
    client = client_for(desk)
    sign_in(client, desk, SOFIA)
    token = csrf_of(client.get("/staff/t/1").get_data(as_text=True))

    refused = client.post("/staff/t/1/unit", data={"csrf_token": token, "value": "bodega 13"})
    assert refused.status_code == 400
    assert "Torre Ñandú, Bodega 12" in refused.get_data(as_text=True)  # the closest unit

    done = client.post("/staff/t/1/unit", data={"csrf_token": token, "value": "Bodega 12"})
    assert done.status_code == 303
    page = client.get("/staff/t/1").get_data(as_text=True)
    assert "Torre Ñandú, Bodega 12" in page
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.directory_unit is not None and ticket.directory_unit.label == "Bodega 12"
        assert session.scalars(select(Event.actor).where(Event.kind == "unit")).one() == SOFIA
    board = client.get("/staff/tickets?q=bodega").get_data(as_text=True)
    assert "/staff/t/1" in board


def test_recurrence_by_unit_and_tower_in_every_format(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported(desk, tmp_path, capsys)
    for sender in (OWNER, OWNER, TENANT):  # Íñigo twice about 402, Mar once about 401
        accept(desk, make_mail(sender=sender, body="Hay una filtración."), source="pipe")
        desk.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    day = desk.clock.now().date()
    report = report_for(desk, day - timedelta(days=1), day, By.DAY)
    rows = report.table("recurrence_by_unit").rows
    assert {
        "dimension": "unit",
        "key": "Torre Ñandú, depto 402",
        "opened": 2,
        "recurring": 1,
    } in rows
    assert {
        "dimension": "unit",
        "key": "Torre Ñandú, depto 401",
        "opened": 1,
        "recurring": 0,
    } in rows
    assert {"dimension": "tower", "key": "Torre Ñandú", "opened": 3, "recurring": 2} in rows
    for name in ("table", "csv", "xlsx", "json", "pdf"):
        assert formats.write(report, name, "es")
    assert "Torre Ñandú, depto 402" in formats.write(report, "table", "es").decode()
    written = json.loads(formats.write(report, "json", "es"))
    assert written["tables"]["recurrence_by_unit"] == rows
