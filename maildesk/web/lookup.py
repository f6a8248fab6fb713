"""`/` and `/buscar`: mail a lost status link to the ticket's requester.

The answer is the same page whether or not the number and address match, so
the form tells nobody which tickets exist or who wrote them; it is rate-limited
per client and per address that was typed.

Its time tells nothing either: a match and a non-match do the same work, the same
query, then the status-link mail rendered, built and queued inside a savepoint, which
a non-match rolls back (its mail is about a stand-in ticket, written and rolled back
with it: one small insert more, no render or build less). The typed
address is bounded (254 characters, RFC 5321), normalised (NFKC, case) and, as a
rate-limit key, hashed: a 20 MB "address" is refused like any wrong one and held by
no limiter.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk import signing
from maildesk.domain import Channel, OutboxKind, State
from maildesk.inbound import correlate
from maildesk.models import Ticket
from maildesk.outbound.mailer import queue_mail
from maildesk.web import desk_of_app

bp = Blueprint("lookup", __name__)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


MAX_ADDRESS = 254  # the longest path an SMTP server must accept (RFC 5321 4.5.3.1.3)


def typed_address(typed: str) -> str | None:
    """The address a person typed, as stored (stripped, NFKC, lower case); None if too long."""
    if len(typed) > 4 * MAX_ADDRESS:  # bounded before NFKC, which may lengthen it
        return None
    address = unicodedata.normalize("NFKC", typed).strip().lower()
    return address if len(address) <= MAX_ADDRESS else None


def _typed_address() -> str:
    """The per-address limiter key: a digest, so its size never depends on the post."""
    address = typed_address(request.form.get("email", "")) or ""
    return "address:" + hashlib.sha256(address.encode()).hexdigest()


def limit(limiter: Limiter, blueprint: Blueprint, *, per_client: str, per_address: str) -> None:
    """Apply the lookup's rate limits (posts only) to `blueprint`."""
    limiter.limit(per_client, methods=["POST"])(blueprint)
    limiter.limit(per_address, methods=["POST"], key_func=_typed_address)(blueprint)


@bp.get("/")
@bp.get("/buscar")
def form() -> ResponseReturnValue:
    return render_template("index.html.j2", address=desk_of_app().config.desk.address)


@bp.post("/")
@bp.post("/buscar")
def send_link() -> ResponseReturnValue:
    desk = desk_of_app()
    email = typed_address(request.form.get("email", "")) or ""
    number_text = request.form.get("number", "").strip().lstrip("#")
    number = int(number_text) if number_text.isdigit() and len(number_text) <= 12 else -1
    if "@" not in email:
        number = -1  # no ticket has it: the same query, the same work, no match
    now = desk.clock.now()
    with desk.db.transaction() as session:
        found = session.scalars(
            select(Ticket).where(
                Ticket.desk_id == desk.desk_id,
                Ticket.number == number,
                Ticket.requester_email == email,
            )
        ).first()
        savepoint = session.begin_nested()
        ticket = found or _stand_in(session, desk.desk_id, email)
        queue_mail(
            session,
            desk,
            kind=OutboxKind.STATUS_LINK,
            to=ticket.requester_email,
            to_name=ticket.requester_name,
            ticket=ticket,
            now=now,
            automatic=True,
            context={
                "number": ticket.number,
                "subject": ticket.subject,
                "tagged_subject": correlate.tagged_subject(
                    ticket.subject,
                    ticket.number,
                    desk.config.desk.tag_prefix,
                    ticket.foreign_tags.splitlines(),
                ),
                "status_url": desk.status_url(ticket.status_token),
                "requester_name": ticket.requester_name,
            },
        )
        session.flush()  # the rows written either way: a non-match's are rolled back after
        if found is None:
            savepoint.rollback()
        else:
            savepoint.commit()
    return render_template("lookup_sent.html.j2"), 200, {"Cache-Control": "no-store"}


def _stand_in(session: Session, desk_id: int, email: str) -> Ticket:
    """A ticket like a real one, for a non-match to do a match's work on; rolled back."""
    address = email if "@" in email else "nadie@invalid"
    stand_in = Ticket(
        desk_id=desk_id,
        number=0,
        subject="Solicitud",
        state=State.RECIBIDO.value,
        priority="media",
        category="",
        channel=Channel.EMAIL.value,
        requester_email=address,
        requester_name="",
        status_token=signing.new_token(),
        opened_at=_EPOCH,
        updated_at=_EPOCH,
    )
    session.add(stand_in)
    session.flush()
    return stand_in
