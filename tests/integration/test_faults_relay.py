"""Relay faults against a real aiosmtpd relay: one address refused, a relay that never answers.

Each mail due is sent once to every address the relay accepts; an address it refuses
for good is flagged on the ticket and never tried again.
"""

from __future__ import annotations

import socket
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from maildesk.cli.read import ticket_detail, ticket_text
from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.daemon import send_outbox
from maildesk.domain import Change
from maildesk.inbound.accept import accept
from maildesk.models import Outbox, Ticket
from maildesk.outbound import notify
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import Relay, free_port

pytestmark = pytest.mark.integration

RESIDENT = "vecina@correo.example"
BOSSES = [
    {"email": "jefa@alameda.example", "name": "Jefa", "role": "supervisor"},
    {"email": "jefe@alameda.example", "name": "Jefe", "role": "supervisor"},
]


def rows(desk: Desk) -> list[tuple[str, str]]:
    """(recipient, status) of every queued mail, oldest first."""
    with desk.db.read_only() as session:
        query = select(Outbox.recipient, Outbox.status).order_by(Outbox.id)
        return [(recipient, status) for recipient, status in session.execute(query)]


def test_a_refused_resident_is_flagged_bouncing_and_the_others_get_the_mail_once(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """A 550 for the resident flags them bouncing (event, ticket show) and is never retried;
    a 450 for one supervisor is retried; each supervisor gets the notice exactly once."""
    desk = make_desk(
        smtp={"host": relay.host, "port": relay.port, "security": "none"}, staff=BOSSES
    )
    relay.refuse = {RESIDENT: "550 5.1.1 no such user", "jefe@alameda.example": "450 4.2.1 busy"}
    accept(desk, make_mail(sender=RESIDENT, subject="Fuga en el baño"), source="pipe")
    report = send_outbox(desk)
    assert (report.sent, report.retried, report.dead) == (1, 1, 1)
    del relay.refuse["jefe@alameda.example"]
    clock.advance(timedelta(hours=3))
    assert send_outbox(desk).sent == 1
    clock.advance(timedelta(hours=3))
    assert send_outbox(desk).sent == 0
    delivered = Counter(rcpt for m in relay.messages for rcpt in m.rcpt_tos)
    assert delivered == {"jefa@alameda.example": 1, "jefe@alameda.example": 1}
    assert relay.rcpt_attempts[RESIDENT] == 1  # refused for good: never tried again
    detail = ticket_detail(desk, 1)
    assert detail is not None
    assert [p["bouncing"] for p in detail["participants"] if p["email"] == RESIDENT] == [True]
    bounced = [e for e in detail["events"] if e["kind"] == "address_bouncing"]
    assert len(bounced) == 1 and bounced[0]["detail"]["address"] == RESIDENT
    assert "550" in bounced[0]["detail"]["error"]
    assert f"bouncing: {RESIDENT}" in ticket_text(detail, "es")
    # Later mail to the bouncing address is kept, not sent: found by a query, or among
    # the ticket's participants when the session has read them.
    for participants_read in (False, True):
        with desk.db.transaction() as session:
            ticket = session.scalars(select(Ticket)).one()
            if participants_read:
                assert RESIDENT in [p.email for p in ticket.participants]
            notify.tell_resident(session, desk, ticket, change=Change.TAKEN, now=clock.now())
        assert rows(desk)[-1] == (RESIDENT, "suppressed")
    assert send_outbox(desk).sent == 0
    assert relay.rcpt_attempts[RESIDENT] == 1


def test_a_relay_that_never_answers_times_out_and_the_mail_is_sent_once_later(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """A relay that accepts the connection and then says nothing is a timeout, retried
    later; once a real relay answers on that port the mail arrives once."""
    port = free_port()
    silent = socket.create_server(("127.0.0.1", port))
    try:
        desk = make_desk(
            smtp={"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 1}
        )
        accept(desk, make_mail(sender=RESIDENT), source="pipe")
        assert send_outbox(desk).retried == 1
        with desk.db.read_only() as session:
            row = session.scalars(select(Outbox)).one()
        assert row.status == "pending" and "timed out" in row.last_error
    finally:
        silent.close()
    with Relay(port=port) as relay:
        clock.advance(timedelta(minutes=2))
        assert send_outbox(desk).sent == 1
        clock.advance(timedelta(hours=3))
        assert send_outbox(desk).sent == 0
        assert [m.rcpt_tos for m in relay.messages] == [(RESIDENT,)]
