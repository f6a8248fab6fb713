"""Fixtures for the status page: a desk with staff, a resident's ticket, a browser-like client."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.models import Ticket
from maildesk.web import create_app
from tests.conftest import DeskFactory
from tests.mails import make_mail

RESIDENT = "vecina@correo.example"
OTHER = "otro@correo.example"
ANA = "ana.perez@alameda.example"
SOFIA = "sofia@alameda.example"
STAFF = [
    {"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]},
    {"email": SOFIA, "name": "Sofía Rojas", "role": "supervisor", "teams": ["administración"]},
]
PHOTO = ("foto_baño.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(range(200)) * 20)


@pytest.fixture
def staffed(make_desk: DeskFactory) -> Desk:
    return make_desk(staff=STAFF)


@dataclass
class Opened:
    number: int
    token: str


def open_ticket(desk: Desk, *, sender: str = RESIDENT, **kwargs: object) -> Opened:
    """A resident writes; returns the new ticket's number and status token."""
    accept(desk, make_mail(sender=sender, **kwargs), source="pipe")  # type: ignore[arg-type]
    with desk.db.read_only() as session:
        ticket = session.scalars(
            select(Ticket).where(Ticket.requester_email == sender).order_by(Ticket.id.desc())
        ).first()
        assert ticket is not None
        return Opened(ticket.number, ticket.status_token)


def client_for(desk: Desk) -> FlaskClient:
    return create_app(desk).test_client()


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a rendered page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)
