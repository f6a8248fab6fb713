"""`/t/<token>`: a resident's ticket, public messages only, everything escaped."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from maildesk.domain import STATE_WORDS
from maildesk.models import Ticket

bp = Blueprint("status", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    desk = current_app.config["DESK"]
    return render_template("index.html.j2", desk_name=desk.config.desk.name, language=desk.language)


@bp.get("/t/<token>")
def ticket(token: str) -> ResponseReturnValue:
    desk = current_app.config["DESK"]
    if len(token) < 16 or len(token) > 64:
        abort(404)
    with desk.db.read_only() as session:
        found = session.scalars(
            select(Ticket).where(Ticket.desk_id == desk.desk_id, Ticket.status_token == token)
        ).first()
        if found is None:
            abort(404)
        messages = [
            {
                "at": m.created_at,
                "mine": m.direction == "inbound",
                "text": m.text,
                "files": [a.filename for a in m.attachments],
            }
            for m in found.messages
            if m.public
        ]
        page = render_template(
            "ticket.html.j2",
            desk_name=desk.config.desk.name,
            language=desk.language,
            ticket=found,
            state=STATE_WORDS[desk.language].get(found.state, found.state),
            messages=messages,
        )
    return page, 200, {"Cache-Control": "no-store"}
