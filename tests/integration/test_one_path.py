"""The same action by mail, on the page and from the CLI has the same effect.

Each pair drives one action through two callers and compares the state, the events and
the queued mails that follow: the callers only translate; the ticket action decides.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk import cli, signing
from maildesk.context import Desk
from maildesk.domain import Via
from maildesk.inbound.accept import accept
from maildesk.models import Event, Outbox, Ticket
from maildesk.tickets import staff
from maildesk.tickets.actor import Actor
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.web.conftest import client_for, csrf_of

pytestmark = pytest.mark.integration

ANA = "ana@alameda.example"  # agent, mantenimiento
LUIS = "luis@alameda.example"  # agent, recepción
RESIDENT = "vecina@correo.example"
NEIGHBOUR = "vecino@correo.example"
STAFF = [
    {"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]},
    {"email": LUIS, "name": "Luis Ñúñez", "role": "agent", "teams": ["recepción"]},
]
TRUSTED = "mx.alameda.example"


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF, desk={"trusted_authserv_ids": [TRUSTED]})


def after(
    desk: Desk, number: int, event_id: int, outbox_id: int
) -> tuple[str, list[str], list[tuple[str, str]]]:
    """The ticket's state, its events since `event_id` (messages aside) and mails since `outbox_id`."""
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        kinds = session.scalars(
            select(Event.kind)
            .where(Event.ticket_id == ticket.id, Event.id > event_id, Event.kind != "message")
            .order_by(Event.id)
        )
        mails = session.execute(
            select(Outbox.kind, Outbox.recipient)
            .where(Outbox.ticket_id == ticket.id, Outbox.id > outbox_id)
            .order_by(Outbox.id)
        )
        return ticket.state, list(kinds), [(k, r) for k, r in mails]


def marks(desk: Desk) -> tuple[int, int]:
    """The newest event and outbox ids, to look only at what follows."""
    with desk.db.read_only() as session:
        last_event = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0
        last_mail = session.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)) or 0
        return last_event, last_mail


def resolved_leak(desk: Desk) -> tuple[int, str]:
    """A resident's leak by mail, taken and resolved by Ana; its number and status token."""
    accept(desk, make_mail(sender=RESIDENT), source="pipe")
    member = desk.config.staff_member(ANA)
    assert member is not None
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
        assert ticket is not None
        with staff.update(
            session, desk, ticket, Actor.staff(member, Via.MAIL), desk.clock.now()
        ) as change:
            change.take()
            change.resolve("Cambiamos el flexible.")
        return ticket.number, ticket.status_token


def test_confirming_by_mail_and_on_the_page_do_the_same(desk: Desk) -> None:
    """Confirm on the page and confirm by replying "sí": both close, tell the resident and tell Ana."""
    page_number, token = resolved_leak(desk)
    mail_number, _ = resolved_leak(desk)

    event_id, outbox_id = marks(desk)
    client = client_for(desk)
    csrf = csrf_of(client.get(f"/t/{token}").get_data(as_text=True))
    assert client.post(f"/t/{token}/confirmar", data={"csrf_token": csrf}).status_code == 303
    by_page = after(desk, page_number, event_id, outbox_id)

    event_id, outbox_id = marks(desk)
    reply = make_mail(
        sender=RESIDENT,
        to=signing.reply_address(desk.address, mail_number, desk.secret),
        subject=f"Re: [#{mail_number}] Fuga de agua en el depto 402",
        body="Sí, gracias, ya funciona.",
    )
    assert accept(desk, reply, source="pipe").status == "processed"
    by_mail = after(desk, mail_number, event_id, outbox_id)

    assert by_page == by_mail
    assert by_page == ("cerrado", ["state"], [("state_change", RESIDENT), ("staff_notice", ANA)])


def test_opening_by_abrir_and_by_the_cli_do_the_same(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    """Luis opens a ticket for a neighbour by `#abrir` and by `ticket open --by`: same events, same mails."""
    body = "#abrir vecino@correo.example\nHay una fuga de agua en la bodega 12."
    proven = {"Authentication-Results": f"{TRUSTED}; dkim=pass header.d=alameda.example"}
    mail = make_mail(sender=LUIS, subject="Fuga en bodega", body=body, headers=proven)
    assert accept(desk, mail, source="pipe").status == "processed"
    by_mail = after(desk, 1, 0, 0)

    config = Path(desk.config.source)
    code = cli.main(
        [
            "--config",
            str(config),
            "ticket",
            "open",
            "--for",
            NEIGHBOUR,
            "--by",
            LUIS,
            "--subject",
            "Fuga en bodega",
            "--text",
            "Hay una fuga de agua en la bodega 12.",
        ]
    )
    assert code == 0 and "opened ticket 2" in capsys.readouterr().out
    by_cli = after(desk, 2, 0, 0)

    assert by_mail == by_cli
    assert by_cli == (
        "recibido",
        ["created", "confirmation_queued"],
        [("confirmation", NEIGHBOUR), ("staff_notice", ANA)],
    )
