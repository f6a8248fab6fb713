"""A resident's requests in every building of the install, and the mail that links to them.

The desks of an install share one database, so one query by requester address finds
the requests of every building; each row links to the status page of its own building.

`send_list_link` does the same work whether or not the address has requests (the
query, then the mail rendered and queued inside a savepoint that is rolled back when
there is nothing to list), so neither the answer nor its time tells who writes to us.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maildesk import signing
from maildesk.context import Desk, status_url
from maildesk.domain import OutboxKind
from maildesk.models import Desk as DeskRow
from maildesk.models import Ticket
from maildesk.outbound.mailer import queue_mail
from maildesk.tickets.opening import is_address

_NOBODY = "nadie@invalid"


@dataclass(frozen=True, slots=True)
class Listed:
    """One request as the list shows it; `url` is empty for a building no longer configured."""

    number: int
    subject: str
    building: str
    state: str
    updated_at: datetime
    url: str


def requests_of(session: Session, desk: Desk, email: str) -> list[Listed]:
    """Every request `email` made, in every building, most recently changed first."""
    rows = session.execute(
        select(Ticket, DeskRow.slug, DeskRow.name)
        .join(DeskRow, DeskRow.id == Ticket.desk_id)
        .where(Ticket.requester_email == email, Ticket.purged_at.is_(None))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
    ).all()
    configs = {c.desk.slug: c for c in desk.install_configs()}
    listed = []
    for ticket, slug, name in rows:
        config = configs.get(slug)
        listed.append(
            Listed(
                number=ticket.number,
                subject=ticket.subject,
                building=name,
                state=ticket.state,
                updated_at=ticket.updated_at,
                url=status_url(config, ticket.status_token) if config is not None else "",
            )
        )
    return listed


def list_url(desk: Desk, email: str, now: datetime) -> str:
    """The signed link to the list, good for `web.list_hours` from `now`."""
    until = now + timedelta(hours=desk.config.web.list_hours)
    token = signing.list_link_token(desk.secret, email, until)
    return f"{desk.config.desk.base_url.rstrip('/')}/mis-solicitudes/{token}"


def send_list_link(session: Session, desk: Desk, email: str, now: datetime) -> bool:
    """Mail `email` the link to its requests when it has any; True when a mail was queued.

    An address without requests (or no address at all) does the same work, rolled back.
    """
    address = email if is_address(email) else _NOBODY
    count = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.requester_email == address, Ticket.purged_at.is_(None))
    )
    savepoint = session.begin_nested()
    queue_mail(
        session,
        desk,
        kind=OutboxKind.REQUESTS_LINK,
        to=address,
        now=now,
        automatic=True,
        context={
            "url": list_url(desk, address, now),
            "count": count,
            "hours": desk.config.web.list_hours,
        },
    )
    session.flush()  # the rows written either way: a stranger's are rolled back after
    if count:
        savepoint.commit()
    else:
        savepoint.rollback()
    return bool(count)
