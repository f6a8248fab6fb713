"""`/` and `/buscar`: mail a lost status link to the ticket's requester.

The answer is the same page whether or not the number and address match, so
the form tells nobody which tickets exist or who wrote them; it is rate-limited
per client and per address that was typed.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from sqlalchemy import select

from maildesk.domain import OutboxKind
from maildesk.inbound import correlate
from maildesk.models import Ticket
from maildesk.outbound.mailer import queue_mail
from maildesk.web import desk_of_app

bp = Blueprint("lookup", __name__)


def _typed_address() -> str:
    return "address:" + request.form.get("email", "").strip().lower()


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
    email = request.form.get("email", "").strip().lower()
    number_text = request.form.get("number", "").strip().lstrip("#")
    number = int(number_text) if number_text.isdigit() and len(number_text) <= 12 else None
    if number is not None and "@" in email:
        now = desk.clock.now()
        with desk.db.transaction() as session:
            found = session.scalars(
                select(Ticket).where(
                    Ticket.desk_id == desk.desk_id,
                    Ticket.number == number,
                    Ticket.requester_email == email,
                )
            ).first()
            if found is not None:
                queue_mail(
                    session,
                    desk,
                    kind=OutboxKind.STATUS_LINK,
                    to=found.requester_email,
                    to_name=found.requester_name,
                    ticket=found,
                    now=now,
                    automatic=True,
                    context={
                        "number": found.number,
                        "subject": found.subject,
                        "tagged_subject": correlate.tagged_subject(
                            found.subject,
                            found.number,
                            desk.config.desk.tag_prefix,
                            found.foreign_tags.splitlines(),
                        ),
                        "status_url": desk.status_url(found.status_token),
                        "requester_name": found.requester_name,
                    },
                )
    return render_template("lookup_sent.html.j2"), 200, {"Cache-Control": "no-store"}
