"""A staff notice's signed reply address proves its recipient on its ticket, until it expires."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.utils import getaddresses

import pytest
from sqlalchemy import select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.models import Message, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.outmail import queued_mail

pytestmark = pytest.mark.integration

ANA = "ana@alameda.example"


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    ana = {"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]}
    return make_desk(staff=[ana], desk={"staff_reply_days": 7})


def notice_reply_to(desk: Desk) -> str:
    """A leak is reported; the Reply-To of Ana's notice about it."""
    accept(desk, make_mail(), source="pipe")
    [raw] = queued_mail(desk, Outbox.recipient == ANA)
    [(_, address)] = getaddresses([str(message_from_bytes(raw)["Reply-To"])])
    return address


def take(desk: Desk, address: str) -> tuple[str | None, str]:
    """Ana replies `#tomar` to `address`: the assignee and the kind of her message."""
    accept(
        desk,
        make_mail(sender=ANA, to=address, subject="Re: [#1] Fuga", body="#tomar"),
        source="pipe",
    )
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        kind = session.scalars(
            select(Message.kind).where(Message.sender_email == ANA).order_by(Message.id.desc())
        ).first()
        return ticket.assignee, str(kind)


def test_the_notice_address_proves_ana_within_its_days(desk: Desk, clock: FixedClock) -> None:
    """Six days after her notice Ana's #tomar takes the ticket."""
    address = notice_reply_to(desk)
    clock.advance(timedelta(days=6))
    assert take(desk, address)[0] == ANA


def test_an_expired_notice_address_proves_nothing(desk: Desk, clock: FixedClock) -> None:
    """Nine days after a notice good for seven, the same #tomar is kept unverified and takes nothing."""
    address = notice_reply_to(desk)
    clock.advance(timedelta(days=9))
    assert take(desk, address) == (None, "unverified")
