"""Helpers for the console's tests: a staffed desk, signing in through the mailed link."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask.testing import FlaskClient

from maildesk.context import Desk
from maildesk.models import Outbox
from tests.outmail import queued_mail
from tests.web.conftest import csrf_of

ANA = "ana.perez@alameda.example"  # agent, mantenimiento
LUIS = "luis@alameda.example"  # agent, recepción
SOFIA = "sofia@alameda.example"  # supervisor
RESIDENT = "vecina@correo.example"
STAFF = [
    {"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]},
    {"email": LUIS, "name": "Luis Ñúñez", "role": "agent", "teams": ["recepción"]},
    {"email": SOFIA, "name": "Sofía Rojas", "role": "supervisor", "teams": ["administración"]},
]


def last_mail_to(desk: Desk, address: str) -> EmailMessage | None:
    raws = queued_mail(desk, Outbox.recipient == address)
    if not raws:
        return None
    parsed = message_from_bytes(raws[-1], policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def mailed_link(desk: Desk, address: str) -> str:
    """The sign-in link path in the last mail to `address`."""
    mail = last_mail_to(desk, address)
    assert mail is not None, f"no mail to {address}"
    match = re.search(r"https://[^/\s]+(/staff/entrar/\S+)", text_of(mail))
    assert match, "no sign-in link in the mail"
    return match.group(1)


def ask_link(client: FlaskClient, address: str) -> str:
    page = client.get("/staff/").get_data(as_text=True)
    response = client.post("/staff/", data={"email": address, "csrf_token": csrf_of(page)})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def follow_link(client: FlaskClient, path: str) -> int:
    """Open the link's page and press its button; the status of the press (or the page)."""
    page = client.get(path)
    if page.status_code != 200:
        return page.status_code
    return client.post(path, data={"csrf_token": csrf_of(page.get_data(as_text=True))}).status_code


def sign_in(client: FlaskClient, desk: Desk, address: str) -> None:
    ask_link(client, address)
    assert follow_link(client, mailed_link(desk, address)) == 303


def csrf(client: FlaskClient, path: str = "/staff/tickets") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))
