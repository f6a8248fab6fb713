"""Requests typed on `/nueva`: kept until the address is proven, then opened like any other.

Nobody may open a request in someone else's name, so the form only stores what was
typed and mails a one-time link to the address given; following it opens the ticket
through `opening.open_with_words` (channel `web`). The link's token is 192 random
bits and only its SHA-256 is stored. A second use shows the same ticket; a link not
followed within `web.request_hours` opens nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maildesk import signing
from maildesk.context import Desk
from maildesk.domain import Attachment as MailAttachment
from maildesk.domain import Channel, OutboxKind
from maildesk.errors import Refused
from maildesk.models import Ticket, WebRequest
from maildesk.outbound.mailer import queue_mail
from maildesk.tickets.opening import is_address, open_with_words

MAX_TOKEN = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirm_url(desk: Desk, token: str) -> str:
    return f"{desk.config.desk.base_url.rstrip('/')}/nueva/confirmar/{token}"


def request_by_web(
    session: Session,
    desk: Desk,
    *,
    email: str,
    name: str,
    kind: str,
    title: str,
    text: str,
    files: Sequence[MailAttachment],
    now: datetime,
    suggestions_shown: int = 0,
) -> None:
    """Keep the typed request and mail its one-time link to `email`; no ticket yet.

    `suggestions_shown`: knowledge-base articles the page showed with it; whether the
    request was still opened after them is a report figure."""
    email = email.strip().lower()
    if not is_address(email):
        raise Refused("bad_address", email)
    if kind and kind not in desk.config.types:
        raise Refused("unknown_type", ", ".join(desk.config.types))
    token = signing.new_token()
    stored = [
        {"filename": f.filename, "content_type": f.content_type, "sha256": desk.blobs.put(f.data)}
        for f in files
    ]
    hours = desk.config.web.request_hours
    session.add(
        WebRequest(
            desk_id=desk.desk_id,
            token_hash=token_hash(token),
            email=email,
            name=name,
            type=kind,
            title=title,
            text=text,
            files=json.dumps(stored),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            suggestions_shown=suggestions_shown,
        )
    )
    queue_mail(
        session,
        desk,
        kind=OutboxKind.WEB_REQUEST,
        to=email,
        to_name=name,
        now=now,
        automatic=True,
        context={"name": name, "title": title, "url": confirm_url(desk, token), "hours": hours},
    )


def _files_of(desk: Desk, pending: WebRequest) -> list[MailAttachment]:
    """The uploads back from the blob store (a file gone from the disk is left out)."""
    found = []
    for item in json.loads(pending.files):
        try:
            data = desk.blobs.get(item["sha256"])
        except FileNotFoundError:
            continue
        found.append(MailAttachment(item["filename"], item["content_type"], data))
    return found


def pending_request(
    session: Session, desk: Desk, token: str, *, now: datetime
) -> WebRequest | None:
    """The request `token` stands for; None when unknown, `Refused("link_expired")` when it
    came too late and was never confirmed."""
    if len(token) > MAX_TOKEN:
        return None
    pending = session.scalars(
        select(WebRequest).where(
            WebRequest.desk_id == desk.desk_id, WebRequest.token_hash == token_hash(token)
        )
    ).first()
    if pending is not None and pending.confirmed_at is None and now > pending.expires_at:
        raise Refused("link_expired", pending.expires_at.isoformat())
    return pending


def confirm_web_request(
    session: Session, desk: Desk, token: str, *, now: datetime
) -> Ticket | None:
    """Open the request `token` stands for, once; the same ticket on any later use.

    None when no request has this token; `Refused("link_expired")` when it came too late.
    The claim is a conditional update, so two clicks at once open one ticket.
    """
    pending = pending_request(session, desk, token, now=now)
    if pending is None:
        return None
    claimed = session.execute(
        update(WebRequest)
        .where(WebRequest.id == pending.id, WebRequest.confirmed_at.is_(None))
        .values(confirmed_at=now)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        session.refresh(pending)
        return session.get(Ticket, pending.ticket_id) if pending.ticket_id else None
    ticket = open_with_words(
        session,
        desk,
        requester=pending.email,
        name=pending.name,
        subject=pending.title,
        text=pending.text,
        channel=Channel.WEB,
        now=now,
        actor=pending.email,
        attachments=_files_of(desk, pending),
        kind=pending.type,
    )
    pending.ticket_id = ticket.id
    return ticket
