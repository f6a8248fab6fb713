"""One way to send a mail: render, build with the desk's identity, enqueue.

Runs inside the caller's transaction. Every outbound mail about a ticket is also
recorded as a message on that ticket, so a reply to it threads even by database
look-up, and the history shows what the resident was told.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from maildesk import compose, outbox, signing
from maildesk.context import Desk
from maildesk.models import Message, Outbox, Ticket

log = logging.getLogger(__name__)


def queue_mail(
    session: Session,
    desk: Desk,
    *,
    kind: str,
    to: str,
    now: datetime,
    context: Mapping[str, Any],
    ticket: Ticket | None = None,
    to_name: str = "",
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    automatic: bool = False,
    public: bool = True,
    ref: str = "",
) -> Outbox:
    """Render `kind` in the desk's language and put it in the outbox."""
    number = ticket.number if ticket is not None else 0
    base = {
        "desk_name": desk.config.desk.name,
        "language": desk.language,
        "tag": f"[{desk.config.desk.tag_prefix}{number}]" if ticket is not None else "",
    }
    rendered = compose.render(kind, desk.language, {**base, **context})
    reply_to = (
        signing.reply_address(desk.address, number, desk.secret) if ticket is not None else None
    )
    message = compose.build(
        rendered,
        from_name=desk.config.desk.name,
        from_addr=desk.address,
        to=to,
        to_name=to_name,
        message_id=signing.message_id(desk.domain, number, desk.secret),
        date=now,
        loop_marker=desk.address,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
    )
    queued = outbox.enqueue(
        session,
        message,
        desk_id=desk.desk_id,
        ticket_id=ticket.id if ticket is not None else None,
        kind=kind,
        recipient=to,
        envelope_from=reply_to or desk.address,
        automatic=automatic,
        now=now,
        cap_per_hour=desk.config.desk.autoreply_per_hour,
        ref=ref,
    )
    if ticket is not None:
        session.add(
            Message(
                ticket_id=ticket.id,
                direction="outbound",
                kind=kind,
                public=public,
                sender_email=desk.address,
                sender_name=desk.config.desk.name,
                recipients=to,
                mid=queued.row.mid,
                in_reply_to=in_reply_to or "",
                references=" ".join(references),
                subject=rendered.subject,
                text=rendered.text,
                html="",
                created_at=now,
            )
        )
    if queued.suppressed_count is not None:
        _tell_admins(session, desk, address=to, count=queued.suppressed_count, now=now)
    return queued.row


def _tell_admins(session: Session, desk: Desk, *, address: str, count: int, now: datetime) -> None:
    """Tell the admins once an hour that automatic mail to `address` is being held."""
    if outbox.notice_sent_recently(session, "rate_limit", address, now):
        return
    admins = [s for s in desk.config.staff if s.role == "admin"]
    if not admins:
        log.warning(
            "automatic mail to %s held after %d in an hour; no admin configured to tell",
            address,
            count,
        )
        return
    for admin in admins:
        queue_mail(
            session,
            desk,
            kind="rate_limit",
            to=admin.email,
            to_name=admin.name,
            now=now,
            context={"address": address, "count": count},
            ref=address,
        )
