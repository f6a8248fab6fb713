"""Fixtures for the status page: a desk with staff, a resident's ticket, a browser-like client."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from psycopg import pq
from sqlalchemy import event, select

from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.models import Ticket
from maildesk.tickets import staff
from maildesk.tickets.actor import Actor, Via
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


def answer_as_ana(desk: Desk, number: int, text: str) -> None:
    """Ana takes the ticket and answers it from the console, the desk's clock standing still."""
    member = desk.config.staff_member(ANA)
    assert member is not None
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        with staff.update(
            session, desk, ticket, Actor.staff(member, Via.CONSOLE), desk.clock.now()
        ) as change:
            change.take()
            change.answer(text)


def client_for(desk: Desk) -> FlaskClient:
    return create_app(desk).test_client()


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a rendered page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@contextmanager
def sent(desk: Desk) -> Iterator[list[str]]:
    """Every statement the database driver sends meanwhile, transaction control included.

    Seen by the driver itself (SQLite's trace callback, libpq's protocol trace), so a query
    sent past SQLAlchemy's events is counted too. The pool starts over with new, traced
    connections.
    """
    engine = desk.db.engine
    engine.dispose()
    seen: list[str] = []
    with tempfile.TemporaryFile() as protocol:

        def trace(dbapi_connection: Any, _record: Any) -> None:
            if engine.dialect.name == "sqlite":
                dbapi_connection.set_trace_callback(seen.append)
            else:
                dbapi_connection.pgconn.trace(protocol.fileno())
                dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

        event.listen(engine, "connect", trace)
        try:
            yield seen
        finally:
            event.remove(engine, "connect", trace)
            engine.dispose()
            protocol.seek(0)
            for line in protocol.read().decode("utf-8", "replace").splitlines():
                parts = line.split("\t")
                if len(parts) > 3 and parts[0] == "F" and parts[2] in ("Query", "Parse"):
                    seen.append(parts[3].strip())


def tampered(cookie: str) -> str:
    """A signed cookie with the first character of its signature changed (the last one's
    low bits may be padding that decodes to the same signature)."""
    at = cookie.rindex(".") + 1
    return cookie[:at] + ("A" if cookie[at] != "A" else "B") + cookie[at + 1 :]
