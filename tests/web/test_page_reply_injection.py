"""A page reply is the resident's mail and only that (issue 15, item 1).

The page builds a mail from stored values (the requester's name, the subject) and
what was typed. A stored value with CR/LF once wrote `From:` and
`Authentication-Results:` into it, and the desk read it as a proven staff mail.
"""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlalchemy import select, update

from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.inbound.dispatch import PAGE_SOURCE
from maildesk.models import Inbound, InboundRaw, Message, Ticket
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.web.conftest import ANA, RESIDENT, STAFF, client_for, csrf_of, open_ticket

TRUSTED = "mx.alameda.example"
FORGED = (
    f"\r\nAuthentication-Results: {TRUSTED}; dmarc=pass header.from=alameda.example;"
    f" dkim=pass header.d=alameda.example\r\nFrom: Ana <{ANA}>\r\nBcc: victim@x"
)
# The forms a stored name or subject took: raw CR/LF, the encoded word parse used to
# keep (the stdlib decodes it and writes the CR/LF raw), and the same words without
# line breaks (a long quoted name the stdlib folds without its quotes).
STORED = {
    "crlf": FORGED,
    "encoded word": "=?utf-8?q?" + "".join(f"={b:02X}" for b in FORGED.encode()) + "?=",
    "long name": " ".join(FORGED.split()),
}


def _desk(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF, desk={"trusted_authserv_ids": [TRUSTED]})


def _state(desk: Desk, number: int) -> str:
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        return ticket.state


def _parsed(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("forged", STORED.values(), ids=STORED.keys())
def test_page_reply_with_line_breaks_in_stored_name_and_subject_and_typed_text(
    make_desk: DeskFactory, forged: str
) -> None:
    """CR/LF + forged From/Authentication-Results in the stored name and subject, and in the text: one From (the resident), nothing staff."""
    desk = _desk(make_desk)
    opened = open_ticket(desk)
    with desk.db.transaction() as session:  # as a row written before the fix would hold them
        session.execute(
            update(Ticket)
            .where(Ticket.number == opened.number)
            .values(requester_name="Vecina" + forged, subject="Fuga" + forged)
        )
    before = _state(desk, opened.number)
    client = client_for(desk)
    csrf = csrf_of(client.get(f"/t/{opened.token}").get_data(as_text=True))
    response = client.post(
        f"/t/{opened.token}/responder",
        data={"csrf_token": csrf, "text": "#cerrar" + FORGED + "\r\n\r\nSigue la fuga."},
    )
    assert response.status_code == 303
    with desk.db.read_only() as session:
        row = session.scalars(select(Inbound).where(Inbound.source == PAGE_SOURCE)).one()
        raw = session.scalars(select(InboundRaw.raw).where(InboundRaw.inbound_id == row.id)).one()
        [message] = session.scalars(
            select(Message).where(Message.inbound_id == row.id, Message.direction == "inbound")
        ).all()
        sender = message.sender_email
    parsed = _parsed(raw)
    assert len(parsed.get_all("From") or []) == 1
    assert parsed["From"].addresses[0].addr_spec == RESIDENT
    assert parsed["Authentication-Results"] is None and parsed["Bcc"] is None
    assert len(parsed["To"].addresses) == 1
    assert len(parsed.get_all("Subject") or []) == 1
    assert sender == RESIDENT
    assert _state(desk, opened.number) == before  # "#cerrar" from a resident closes nothing


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_page_reply_is_never_a_staff_mail_whatever_its_headers(make_desk: DeskFactory) -> None:
    """Ana's own requests: her `#cerrar` with a trusted DMARC pass closes one by mail, and nothing from the page."""
    desk = _desk(make_desk)
    proven = {"Authentication-Results": f"{TRUSTED}; dmarc=pass header.from=alameda.example"}
    for _ in range(2):
        accept(
            desk, make_mail(sender=ANA, subject="Ascensor detenido", headers=proven), source="pipe"
        )
    for number, source in ((1, PAGE_SOURCE), (2, "pipe")):
        reply = make_mail(
            sender=ANA,
            sender_name="Ana Pérez",
            subject=f"Re: [#{number}] Ascensor detenido",
            headers=proven,
            body="#cerrar\nListo.",
        )
        accept(desk, reply, source=source)
    assert _state(desk, 1) == "recibido"
    assert _state(desk, 2) == "cerrado"  # the control: these headers do prove staff by mail
