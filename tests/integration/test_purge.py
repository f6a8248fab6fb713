"""`maildesk purge`: closed tickets lose their residents' data, the reports keep their figures."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from maildesk import signing
from maildesk.cli import main
from maildesk.context import Desk
from maildesk.domain import Via
from maildesk.inbound.accept import accept
from maildesk.inbound.parse import parse_mail
from maildesk.models import Attachment, Base, Inbound, InboundRaw, Message, Ticket
from maildesk.tickets import resident, staff
from maildesk.tickets.actor import Actor
from maildesk.web import create_app
from tests.conftest import DeskFactory
from tests.mails import DESK, make_mail

pytestmark = pytest.mark.integration

ANA = "ana@alameda.example"
STAFF = [{"email": ANA, "name": "Ana Pérez", "role": "admin", "teams": ["administración"]}]
GONE = "purgada@correo.example"  # only has tickets that will be purged
KEPT = "vecina@correo.example"  # has an open ticket too
SHARED = ("plano.pdf", "application/pdf", b"%PDF-1.4 el mismo plano " * 40)
PRIVATE = ("foto_baño.jpg", "image/jpeg", b"\xff\xd8\xff la foto del bano " * 40)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli(desk: Desk, *argv: str) -> int:
    return main(["--config", desk.config.source, *argv])


def close(desk: Desk, number: int, *, rating: int | None = None, comment: str = "") -> None:
    member = desk.config.staff_member(ANA)
    assert member is not None
    now = desk.clock.now()
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        with staff.update(session, desk, ticket, Actor.staff(member, Via.CONSOLE), now) as change:
            change.answer(f"Listo, {ticket.requester_name}: cambiamos la llave de paso.")
            change.close(f"Reparado en el depto de {ticket.requester_email}")
        if rating is not None:
            actor = Actor.resident(ticket.requester_email, Via.PAGE)
            resident.rate(session, desk, ticket, actor, rating=rating, comment=comment, now=now)


@pytest.fixture
def history(make_desk: DeskFactory) -> Iterator[Desk]:
    """Three tickets: two of GONE (closed, one rated), one of KEPT still open; a shared file."""
    desk = make_desk(staff=STAFF, desk={"retention_days": 1})
    accept(
        desk,
        make_mail(sender=GONE, sender_name="Ñandú Purgado", attachments=[PRIVATE, SHARED]),
        source="pipe",
    )
    accept(
        desk,
        make_mail(sender=GONE, sender_name="Ñandú Purgado", subject="Ruido en torre B"),
        source="pipe",
    )
    accept(desk, make_mail(sender=KEPT, subject="Portón", attachments=[SHARED]), source="pipe")
    close(desk, 1, rating=4, comment=f"Muy bien, firma {GONE}")
    close(desk, 2)
    yield desk


def report(desk: Desk, path: Path) -> dict[str, Any]:
    code = cli(
        desk, "report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json",
        "--output", str(path),
    )  # fmt: skip
    assert code == 0
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def figures(data: dict[str, Any]) -> dict[str, Any]:
    """The counted figures: every table but the residents' words (comments, subjects)."""
    tables = dict(data["tables"])
    tables.pop("comments")
    tables["slowest"] = [{k: v for k, v in r.items() if k != "subject"} for r in tables["slowest"]]
    return tables


def stored_text(desk: Desk) -> str:
    """Every value of every row of every table, as one text (raw mail bytes included)."""
    with desk.db.read_only() as session:
        return "\n".join(
            repr(tuple(row))
            + ((row.raw or b"").decode("utf-8", "replace") if "raw" in row._fields else "")
            for table in Base.metadata.sorted_tables
            for row in session.execute(table.select())
        )


def test_purge_removes_personal_data_and_keeps_the_figures(
    history: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a purge no row names the resident, their files are gone, the figures are equal."""
    desk = history
    before = report(desk, tmp_path / "before.json")
    assert GONE in stored_text(desk)
    private = desk.blobs.path(sha256(PRIVATE[2]))
    shared = desk.blobs.path(sha256(SHARED[2]))
    assert private.exists() and shared.exists()

    assert cli(desk, "purge", "--before", "2026-11-24") == 0
    assert "purged 2 tickets closed before 2026-11-24" in capsys.readouterr().out
    assert cli(desk, "ticket", "show", "1", "--format", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["purged_at"] and shown["requester"] == "" and shown["messages"][0]["text"] == ""

    assert figures(report(desk, tmp_path / "after.json")) == figures(before)
    text = stored_text(desk)
    assert GONE not in text and "Ñandú" not in text and "cambiamos la llave" not in text
    assert not private.exists()  # only the purged ticket held it
    assert shared.exists()  # ticket 3 still holds the same bytes
    with desk.db.read_only() as session:
        rows = {t.number: t for t in session.scalars(select(Ticket))}
        assert [rows[n].purged_at is not None for n in (1, 2, 3)] == [True, True, False]
        assert (rows[1].state, rows[1].rating, rows[1].category) == ("cerrado", 4, "mantenimiento")
        assert rows[3].requester_email == KEPT and rows[3].subject == "Portón"
        kept = session.scalars(
            select(Attachment).join(Message).where(Message.ticket_id == rows[3].id)
        ).all()
        assert {a.filename for a in kept} == {"plano.pdf"}
        assert desk.blobs.get(kept[0].sha256) == SHARED[2]
        purged_mail = select(InboundRaw.raw).join(Inbound).where(Inbound.ticket_id != rows[3].id)
        assert list(session.scalars(purged_mail)) == [b"", b""]


def test_purged_ticket_page_says_so_and_a_late_reply_opens_a_new_ticket(history: Desk) -> None:
    """The status link still opens, says the data was purged; a reply never reopens it."""
    desk = history
    with desk.db.read_only() as session:
        token = session.scalars(select(Ticket.status_token).where(Ticket.number == 1)).one()
    assert cli(desk, "purge", "--before", "2026-11-24") == 0

    page = create_app(desk).test_client().get(f"/t/{token}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Los datos personales de esta solicitud se eliminaron" in body
    assert "Fuga de agua" not in body and 'name="text"' not in body  # no reply form

    signed = signing.reply_address(DESK, 1, desk.secret)
    late = make_mail(sender=GONE, to=signed, subject="Re: [#1] Fuga", body="Volvió la fuga.")
    accept(desk, late, source="pipe")
    with desk.db.read_only() as session:
        rows = {t.number: t for t in session.scalars(select(Ticket))}
        assert rows[1].state == "cerrado" and rows[1].purged_at is not None
        assert [m.text for m in rows[1].messages if "Volvió" in m.text] == []
        assert rows[4].requester_email == GONE and rows[4].related_ticket_id == rows[1].id


def test_dry_run_changes_nothing_and_a_recent_date_is_refused(
    history: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dry-run` names what would go; a date within the retention period is refused."""
    desk = history
    text = stored_text(desk)
    assert cli(desk, "purge", "--before", "2026-11-24", "--dry-run") == 0
    assert capsys.readouterr().out.splitlines() == [
        "would purge 2 tickets closed before 2026-11-24 (2 attachments)",
        "  #1  closed 2026-11-23",
        "  #2  closed 2026-11-23",
    ]
    assert stored_text(desk) == text
    assert cli(desk, "purge", "--before", "2999-01-01") == 1
    assert "desk.retention_days = 1" in capsys.readouterr().err
    assert stored_text(desk) == text


def test_the_reply_action_never_reopens_a_purged_ticket(history: Desk) -> None:
    """Whoever still reaches a purged ticket's reply action gets it passed on to a new one."""
    desk = history
    assert cli(desk, "purge", "--before", "2026-11-24") == 0
    mail = parse_mail(make_mail(sender=GONE, subject="Re: [#1] Fuga", body="Volvió la fuga."))
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == 1)).one()
        actor = Actor.resident(GONE, Via.MAIL)
        now = desk.clock.now()
        entered = resident.replied(
            session,
            desk,
            ticket,
            actor,
            mail,
            text=mail.text,
            now=now,
            inbound_id=None,
            verified=True,
        )
        assert entered is False and ticket.state == "cerrado"
        assert [m.text for m in ticket.messages if m.text] == []
