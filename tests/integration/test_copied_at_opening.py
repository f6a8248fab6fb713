"""People copied on a resident's first mail follow the new ticket, each once.

The ticket is not written yet when they are added (its rows go in with the first
message), so who is already on it is answered from the rows added with it.
"""

from __future__ import annotations

import pytest

from maildesk.cli.read import ticket_detail
from maildesk.context import Desk
from maildesk.inbound.accept import accept
from tests.mails import DESK, make_mail

pytestmark = pytest.mark.integration


def test_each_copied_address_follows_the_new_ticket_once(desk: Desk) -> None:
    raw = make_mail(
        sender="vecina@correo.example",
        to=f"{DESK}, Vecino.Torre@Correo.Example",
        cc=["vecino.torre@correo.example", "VECINA@correo.example", "conserje@alameda.example"],
        subject="Ruido en la torre B",
    )
    accept(desk, raw, source="pipe")
    detail = ticket_detail(desk, 1)
    assert detail is not None
    assert sorted((p["email"], p["role"]) for p in detail["participants"]) == [
        ("conserje@alameda.example", "cc"),
        ("vecina@correo.example", "requester"),
        ("vecino.torre@correo.example", "cc"),
    ]
