"""A forged requester `From:` plus the subject tag confirms, rejects and reopens nothing.

Each mail goes in through `maildesk ingest` (the MTA pipe), against SQLite and
PostgreSQL. Only a reply sent to the ticket's signed reply address (the Reply-To of
the mail the desk really sent) or carrying a trusted DMARC pass for the requester's
domain acts; anything else is kept marked unverified and the requester is asked to act
from the page.
"""

from __future__ import annotations

from email import message_from_bytes
from email.utils import getaddresses
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk import cli
from maildesk.context import Desk
from maildesk.domain import Via
from maildesk.inbound.accept import accept
from maildesk.models import Message, Outbox, Ticket
from maildesk.tickets import staff
from maildesk.tickets.actor import Actor
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.outmail import queued_mail
from tests.web.conftest import client_for

pytestmark = pytest.mark.integration

ANA = "ana@alameda.example"
RESIDENT = "vecina@correo.example"
TRUSTED = "mx.alameda.example"
YES = "Sí, está resuelto, muchas gracias."


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    staff_list = [{"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]}]
    return make_desk(staff=staff_list, desk={"trusted_authserv_ids": [TRUSTED]})


def resolved(desk: Desk) -> tuple[int, str]:
    """A resident's leak, resolved by Ana: its number and the Reply-To of the mail asking to confirm."""
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
        number = ticket.number
    *_, raw = queued_mail(desk, Outbox.recipient == RESIDENT)
    [(_, reply_to)] = getaddresses([str(message_from_bytes(raw)["Reply-To"])])
    return number, reply_to


def ingest(desk: Desk, tmp_path: Path, raw: bytes) -> None:
    mail = tmp_path / "reply.eml"
    mail.write_bytes(raw)
    assert cli.main(["--config", str(desk.config.source), "ingest", str(mail)]) == 0


def state_and_mails(desk: Desk, number: int) -> tuple[str, list[tuple[str, str]], list[str]]:
    """The ticket's state, its queued mails (kind, recipient) and its inbound message kinds."""
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        mails = session.execute(
            select(Outbox.kind, Outbox.recipient)
            .where(Outbox.ticket_id == ticket.id)
            .order_by(Outbox.id)
        )
        kinds = session.scalars(
            select(Message.kind)
            .where(Message.ticket_id == ticket.id, Message.direction == "inbound")
            .order_by(Message.id)
        )
        return ticket.state, [(k, r) for k, r in mails], list(kinds)


def test_a_forged_from_with_the_subject_tag_confirms_nothing(desk: Desk, tmp_path: Path) -> None:
    """ "Sí, está resuelto" from a forged From: to the plain desk address with only [#N]: the ticket stays
    in validación, the reply is kept marked unverified (page and console), staff are told and the
    requester is asked to confirm from the page."""
    number, _ = resolved(desk)
    forged = make_mail(sender=RESIDENT, subject=f"Re: [#{number}] Fuga de agua", body=YES)
    ingest(desk, tmp_path, forged)

    state, mails, kinds = state_and_mails(desk, number)
    assert state == "validacion"
    assert kinds == ["normal", "unverified"]
    assert mails[-2:] == [("staff_notice", ANA), ("confirm_on_page", RESIDENT)]
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        token = ticket.status_token
    [asked] = queued_mail(desk, Outbox.kind == "confirm_on_page")
    assert (
        f"/t/{token}" in message_from_bytes(asked).get_payload(0).get_payload(decode=True).decode()
    )
    page = client_for(desk).get(f"/t/{token}").get_data(as_text=True)
    assert "no verificado" in page and "muchas gracias" in page


def test_a_forged_no_neither_rejects_nor_reopens(desk: Desk, tmp_path: Path) -> None:
    """ "No, sigue goteando" with a forged From does not send a resolved ticket back to work."""
    number, _ = resolved(desk)
    forged = make_mail(
        sender=RESIDENT, subject=f"Re: [#{number}] Fuga", body="No, sigue goteando igual."
    )
    ingest(desk, tmp_path, forged)
    assert state_and_mails(desk, number)[0] == "validacion"


def test_the_same_reply_to_the_signed_reply_address_confirms(desk: Desk, tmp_path: Path) -> None:
    """The same words sent to the Reply-To of the desk's own mail close the ticket."""
    number, reply_to = resolved(desk)
    assert reply_to.startswith(f"soporte+{number}-")
    signed = make_mail(sender=RESIDENT, to=reply_to, subject=f"Re: [#{number}] Fuga", body=YES)
    ingest(desk, tmp_path, signed)
    state, mails, kinds = state_and_mails(desk, number)
    assert (state, kinds) == ("cerrado", ["normal", "normal"])
    assert ("confirm_on_page", RESIDENT) not in mails


@pytest.mark.parametrize(
    ("header", "state"),
    [
        (f"{TRUSTED}; dmarc=pass header.from=correo.example", "cerrado"),
        (f"{TRUSTED}; dkim=pass header.d=correo.example", "validacion"),
        (f"{TRUSTED}; spf=pass smtp.mailfrom={RESIDENT}", "validacion"),
        ("mx.evil.example; dmarc=pass header.from=correo.example", "validacion"),
    ],
)
def test_only_a_trusted_dmarc_pass_for_the_requester_confirms(
    desk: Desk, tmp_path: Path, header: str, state: str
) -> None:
    """With the trusted server's DMARC pass for correo.example the plain-address reply confirms;
    DKIM or SPF alone, or an untrusted server's word, do not."""
    number, _ = resolved(desk)
    mail = make_mail(
        sender=RESIDENT,
        subject=f"Re: [#{number}] Fuga",
        body=YES,
        headers={"Authentication-Results": header},
    )
    ingest(desk, tmp_path, mail)
    assert state_and_mails(desk, number)[0] == state
