"""Status-page tokens: find a ticket by the token in its link, and revoke a link.

A token is 192 random bits (`signing.new_token`); the row is fetched by token and
the match confirmed in constant time. `rotate` issues a new token, after which the
old link answers 404.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk import signing
from maildesk.context import Desk
from maildesk.models import Ticket
from maildesk.tickets.system import rotate_token

# 128 bits in URL-safe base64 is at least 22 characters; the column holds 64.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def looks_like(token: str) -> bool:
    """Whether `token` has the shape of a status token at all (no query for the others)."""
    return _TOKEN.fullmatch(token) is not None


def find(session: Session, desk: Desk, token: str) -> Ticket | None:
    """This desk's ticket whose status link carries `token`, else None."""
    if not looks_like(token):
        return None
    found = session.scalars(
        select(Ticket).where(Ticket.desk_id == desk.desk_id, Ticket.status_token == token)
    ).first()
    if found is None or not signing.tokens_equal(found.status_token, token):
        return None
    return found


def rotate(desk: Desk, number: int) -> str:
    """Give ticket `number` a new status token; the old link stops working at once.

    Raises `LookupError` when this desk has no such ticket.
    """
    with desk.db.transaction() as session:
        ticket = session.scalars(
            select(Ticket).where(Ticket.desk_id == desk.desk_id, Ticket.number == number)
        ).first()
        if ticket is None:
            raise LookupError(f"no ticket {number}")
        return rotate_token(session, ticket, now=desk.clock.now())
