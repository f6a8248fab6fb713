"""Two buildings in one install over one database (SQLite and PostgreSQL): numbering,
the outbox, staff rights and status links stay each desk's own."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from maildesk import config as config_mod
from maildesk.clock import FixedClock
from maildesk.context import Desk, open_install
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.inbound.runner import process_pending
from maildesk.models import Desk as DeskRow
from maildesk.models import Message, Outbox, Ticket
from maildesk.sla.jobs import Job, run_job
from maildesk.web.hosts import desk_hosts
from tests.conftest import SECRET
from tests.desks import ANA, BETO, GERENTE, NORTE, SUR, TEAMS, install_toml
from tests.mails import make_mail
from tests.outmail import queued_rows

pytestmark = pytest.mark.integration

RESIDENT = "vecina@correo.example"
SOFIA = "sofia@sur.example"  # manager of Torre Sur only


@pytest.fixture
def desks(tmp_path: Path, database_url: str, clock: FixedClock) -> Iterator[dict[str, Desk]]:
    sur_staff = [
        {"email": BETO, "name": "Beto Ñúñez", "teams": TEAMS},
        {"email": SOFIA, "name": "Sofía Rojas", "role": "manager", "teams": TEAMS},
    ]
    path = install_toml(tmp_path, database_url, SECRET, sur={"staff": sur_staff})
    install = config_mod.load_install(path)
    opened = open_install(install, upgrade=True, clock=clock)
    yield {d.slug: d for d in opened}
    opened[0].db.dispose()


def write(desk: Desk, raw: bytes) -> None:
    accept(desk, raw, source="pipe")
    process_pending(desk)


def ticket(desk: Desk, number: int = 1) -> Ticket:
    with desk.db.read_only() as session:
        found = session.scalars(
            select(Ticket).where(Ticket.desk_id == desk.desk_id, Ticket.number == number)
        ).one()
        _ = found.messages
        return found


def sent_files(desk: Desk) -> list[EmailMessage]:
    files = sorted(desk.outbox_dir.glob("*.eml")) if desk.outbox_dir.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]  # type: ignore[misc]


def test_each_desk_numbers_its_own_tickets_and_its_worker_sends_only_its_mail(
    desks: dict[str, Desk],
) -> None:
    norte, sur = desks["norte"], desks["sur"]
    write(norte, make_mail(to=NORTE, subject="Fuga en la torre norte"))
    write(sur, make_mail(to=SUR, subject="Portón de la torre sur"))
    assert ticket(norte).subject == "Fuga en la torre norte"
    assert ticket(sur).subject == "Portón de la torre sur"  # both are ticket #1
    with norte.db.read_only() as session:
        slugs = set(session.scalars(select(DeskRow.slug)))
    assert slugs == {"norte", "sur"}

    assert send_outbox(norte).sent >= 1
    mails = sent_files(norte)
    assert mails and all(NORTE in str(m["From"]) for m in mails), [m["From"] for m in mails]
    assert sent_files(sur) == []
    with sur.db.read_only() as session:
        waiting = session.scalars(select(Outbox.status).where(Outbox.desk_id == sur.desk_id)).all()
    assert waiting and set(waiting) == {"pending"}  # Norte's worker left Sur's mail alone

    assert send_outbox(sur).sent == len(waiting)
    assert all(SUR in str(m["From"]) for m in sent_files(sur))
    assert len(sent_files(norte)) == len(mails)


def test_staff_of_one_building_cannot_command_another_buildings_ticket(
    desks: dict[str, Desk],
) -> None:
    norte, sur = desks["norte"], desks["sur"]
    write(sur, make_mail(to=SUR, subject="Portón de la torre sur"))
    send_outbox(sur)
    before = ticket(sur)
    told = len(sent_files(sur))

    write(
        sur,
        make_mail(
            sender=ANA,
            sender_name="Ana Pérez",
            to=SUR,
            subject=f"Re: [#1] {before.subject}",
            body="#cerrar\n#prioridad alta\nLo vemos mañana.",
        ),
    )
    after = ticket(sur)
    assert (after.state, after.priority, after.assignee) == (
        before.state,
        before.priority,
        before.assignee,
    )
    assert [m.id for m in after.messages] == [m.id for m in before.messages]
    with sur.db.read_only() as session:
        kept = session.scalars(select(Message).where(Message.sender_email == ANA)).all()
    assert kept == []

    send_outbox(sur)
    new = sent_files(sur)[told:]
    assert [(str(m["To"]), "Torre Norte" in m.get_body(("plain",)).get_content()) for m in new] == [
        (f"Ana Pérez <{ANA}>", True)
    ]
    assert "no eres personal de Torre Sur" in str(new[0]["Subject"])
    assert sent_files(norte) == []


def test_a_status_link_shows_only_on_its_own_desks_host(desks: dict[str, Desk]) -> None:
    norte, sur = desks["norte"], desks["sur"]
    write(norte, make_mail(to=NORTE, subject="Fuga en la torre norte"))
    write(sur, make_mail(to=SUR, subject="Portón de la torre sur"))
    token_norte, token_sur = ticket(norte).status_token, ticket(sur).status_token
    client = Client(desk_hosts((norte, sur)))

    def page(token: str, host: str) -> tuple[int, str]:
        response = client.get(f"/t/{token}", headers={"Host": host})
        return response.status_code, response.get_data(as_text=True)

    code, body = page(token_norte, "norte.example")
    assert code == 200 and "Fuga en la torre norte" in body
    code, body = page(token_sur, "sur.example:443")
    assert code == 200 and "Portón de la torre sur" in body
    unknown = page("x" * 32, "sur.example")
    assert unknown[0] == 404
    assert page(token_norte, "sur.example") == unknown  # the same page as an unknown token
    assert page(token_sur, "norte.example")[0] == 404


def test_a_manager_of_both_buildings_gets_one_digest_with_a_section_each(
    desks: dict[str, Desk], clock: FixedClock
) -> None:
    norte, sur = desks["norte"], desks["sur"]
    write(norte, make_mail(to=NORTE, subject="Fuga en la torre norte"))
    write(sur, make_mail(to=SUR, subject="Portón de la torre sur"))
    clock.advance(timedelta(days=1))
    day = Job("digest_daily", "2026-11-24", clock.now() - timedelta(days=1), clock.now())
    assert run_job(sur, day) and run_job(norte, day)
    digests = [
        (row.desk_id, row.kind, row.recipient, raw)
        for row, raw in queued_rows(norte, Outbox.kind.like("digest%"))
    ]
    assert sorted((d, k, r) for d, k, r, _raw in digests) == sorted(
        [
            (norte.desk_id, "digest_buildings", GERENTE),  # one mail, from the first building
            (sur.desk_id, "digest", SOFIA),  # Sur's own manager: Sur's digest as ever
        ]
    )
    mails = {r: email.message_from_bytes(raw, policy=default) for _d, _k, r, raw in digests}
    both = mails[GERENTE].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Torre Norte — resumen diario" in both and "Torre Sur — resumen diario" in both
    assert "de 2 edificios" in str(mails[GERENTE]["Subject"])
    own = mails[SOFIA].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert own.startswith("Torre Sur — resumen diario") and "Torre Norte" not in own


def test_an_existing_desk_keeps_its_tickets_and_becomes_default(
    tmp_path: Path, database_url: str, clock: FixedClock
) -> None:
    """A database of one desk made before slugs (0006) upgrades, and the desk is `default`."""
    from alembic import command

    from maildesk.db import Database, _alembic_config

    db = Database(database_url)
    cfg = _alembic_config()
    with db.engine.begin() as connection:
        if db.is_postgres:  # the shared test database is at head after earlier tests
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0006")
        connection.exec_driver_sql(
            "INSERT INTO desk (address, name, next_number, created_at)"
            " VALUES ('soporte@alameda.example', 'Alameda', 8, '2026-01-01 00:00:00')"
        )
    db.dispose()
    path = tmp_path / "maildesk.toml"
    path.write_text(
        f'[desk]\naddress = "soporte@alameda.example"\ndatabase = "{database_url}"\n'
        f'secret_key = "{SECRET}"\n',
        encoding="utf-8",
    )
    (desk,) = open_install(config_mod.load_install(path), upgrade=True, clock=clock)
    with desk.db.read_only() as session:
        rows = session.execute(select(DeskRow.id, DeskRow.slug, DeskRow.next_number)).all()
    desk.db.dispose()
    assert [(r.slug, r.next_number) for r in rows] == [("default", 8)]
    assert desk.desk_id == rows[0].id


def test_the_board_of_staff_of_both_buildings_shows_both(desks: dict[str, Desk]) -> None:
    from maildesk.web import create_app
    from tests.web.consolekit import sign_in

    norte, sur = desks["norte"], desks["sur"]
    write(norte, make_mail(to=NORTE, subject="Fuga en la torre norte"))
    write(sur, make_mail(to=SUR, subject="Portón de la torre sur"))
    app = create_app(norte)

    manager = app.test_client()
    sign_in(manager, norte, GERENTE)
    both = manager.get("/staff/tickets").get_data(as_text=True)
    assert "Fuga en la torre norte" in both and "Portón de la torre sur" in both
    assert '<td data-label="Edificio">Torre Sur</td>' in both
    assert 'href="https://sur.example/staff/t/1"' in both  # Sur's ticket on Sur's console
    only_sur = manager.get("/staff/tickets?desk=sur").get_data(as_text=True)
    assert "Portón de la torre sur" in only_sur and "Fuga en la torre norte" not in only_sur
    download = manager.get("/staff/tickets?format=csv").get_data(as_text=True).splitlines()
    assert download[0].startswith("\ufeffEdificio,")  # the BOM Excel needs for UTF-8
    assert {line.split(",")[0] for line in download[1:]} == {"Torre Norte", "Torre Sur"}

    agent = app.test_client()
    sign_in(agent, norte, ANA)
    own = agent.get("/staff/tickets?desk=sur").get_data(as_text=True)
    assert "Fuga en la torre norte" in own and "Portón de la torre sur" not in own
    assert "Edificio" not in own
    assert "Edificio" not in agent.get("/staff/tickets?format=csv").get_data(as_text=True)


def test_a_desk_may_word_its_own_mails(desks: dict[str, Desk], tmp_path: Path) -> None:
    """`data_dir/templates/<slug>/` overrides the shipped templates for that desk only."""
    norte, sur = desks["norte"], desks["sur"]
    own = tmp_path / "data" / "templates" / "sur" / "es"
    own.mkdir(parents=True)
    (own / "confirmation.subject.j2").write_text(
        "{{ tag }} Recibimos tu solicitud en Torre Sur, ¡gracias!\n", encoding="utf-8"
    )
    write(norte, make_mail(to=NORTE, subject="Fuga en la torre norte"))
    write(sur, make_mail(to=SUR, subject="Portón de la torre sur"))
    send_outbox(norte)
    send_outbox(sur)
    subjects = {
        slug: [str(m["Subject"]) for m in sent_files(desk) if RESIDENT in str(m["To"])]
        for slug, desk in desks.items()
    }
    assert subjects["sur"] == ["[#1] Recibimos tu solicitud en Torre Sur, ¡gracias!"]
    assert len(subjects["norte"]) == 1 and "Torre Sur" not in subjects["norte"][0]


def test_staff_of_one_building_cannot_reach_anothers_ticket_in_the_console(
    desks: dict[str, Desk],
) -> None:
    from maildesk.web import create_app
    from tests.web.conftest import csrf_of
    from tests.web.consolekit import ask_link, sign_in

    norte, sur = desks["norte"], desks["sur"]
    write(norte, make_mail(to=NORTE, subject="Fuga en la torre norte"))
    write(sur, make_mail(to=SUR, subject="Portón de la torre sur"))
    write(sur, make_mail(to=SUR, subject="Ascensor de la torre sur", sender="otra@correo.example"))
    before = ticket(sur, 2)

    on_norte = create_app(norte).test_client()
    sign_in(on_norte, norte, ANA)
    assert on_norte.get("/staff/t/2").status_code == 404  # Sur's #2 is no ticket of Norte
    token = csrf_of(on_norte.get("/staff/tickets").get_data(as_text=True))
    taken = on_norte.post("/staff/t/2/take", data={"csrf_token": token})
    assert taken.status_code == 404

    on_sur = create_app(sur).test_client()
    ask_link(on_sur, ANA)  # the same answer as for anyone, and nothing is sent
    with sur.db.read_only() as session:
        mailed = select(Outbox).where(Outbox.desk_id == sur.desk_id, Outbox.recipient == ANA)
        assert session.scalars(mailed).all() == []
    page = on_sur.get("/staff/t/2")
    assert page.status_code in (302, 303) and "/staff/" in page.headers["Location"]
    after = ticket(sur, 2)
    assert (after.assignee, after.state) == (before.assignee, before.state)
