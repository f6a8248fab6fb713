"""One way to send a mail: render, draft with the desk's identity, enqueue (the outbox
worker builds the bytes: `draft.py`).

Runs inside the caller's transaction. Every outbound mail about a ticket is also
recorded as a message on that ticket (public for the resident's thread, internal
for staff and vendors), so a reply to it threads even by database look-up, and
the history shows who was told what.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk import signing
from maildesk.context import Desk
from maildesk.domain import Attachment as MailAttachment
from maildesk.domain import Direction, OutboxKind, Role
from maildesk.models import Attachment as StoredAttachment
from maildesk.models import Message, Outbox, Ticket
from maildesk.outbound import compose, linked_files, outbox
from maildesk.outbound.draft import Draft
from maildesk.tickets.history import store_attachments

log = logging.getLogger(__name__)


def thread_of(session: Session, ticket: Ticket, *, public_only: bool) -> list[str]:
    """The Message-IDs of a ticket's thread as one audience saw it, oldest first.

    Residents only ever saw the public messages; staff saw everything.
    """
    query = select(Message.mid).where(Message.ticket_id == ticket.id, Message.mid.is_not(None))
    if public_only:
        query = query.where(Message.public.is_(True))
    return [mid for mid in session.scalars(query.order_by(Message.id)) if mid]


def queue_mail(
    session: Session,
    desk: Desk,
    *,
    kind: OutboxKind,
    to: str,
    now: datetime,
    context: Mapping[str, Any],
    ticket: Ticket | None = None,
    to_name: str = "",
    automatic: bool = False,
    public: bool = True,
    ref: str = "",
    sign_for_recipient: bool = False,
    from_name: str | None = None,
    attachments: Sequence[MailAttachment] = (),
    record_text: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] | None = None,
) -> Outbox:
    """Render `kind` in the desk's language and put its draft in the outbox.

    Threading headers default to the ticket's thread as the recipient saw it (the
    public messages for a resident, all of them otherwise). `sign_for_recipient`
    signs the Reply-To for this recipient alone, which is what proves a staff
    member's reply later.
    """
    number = ticket.number if ticket is not None else 0
    base = {
        "desk_name": desk.config.desk.name,
        "language": desk.language,
        "tag": f"[{desk.config.desk.tag_prefix}{number}]" if ticket is not None else "",
    }
    reply_to = None
    recorded: Message | None = None
    carried: list[MailAttachment] = list(attachments)
    carried_ids: list[int] = []
    linked: list[linked_files.LinkedFile] = []
    message_id = signing.message_id(desk.domain, number, desk.secret)
    if ticket is not None:
        reply_to = (
            signing.staff_reply_address(
                desk.address,
                number,
                desk.secret,
                to,
                now=now,
                days=desk.config.desk.staff_reply_days,
            )
            if sign_for_recipient
            else signing.reply_address(desk.address, number, desk.secret)
        )
        if references is None:
            references = thread_of(session, ticket, public_only=public)
            in_reply_to = in_reply_to or (references[-1] if references else None)
        # Recorded first: a file too large to attach is linked by its stored row's id.
        recorded = Message(
            ticket=ticket,
            direction=Direction.OUTBOUND.value,
            kind=kind.value,
            public=public,
            sender_email=desk.address,
            sender_name=from_name or desk.config.desk.name,
            recipients=to,
            mid=message_id,
            in_reply_to=in_reply_to or "",
            references=" ".join(references or ()),
            html="",
            created_at=now,
        )
        if attachments:
            session.add(recorded)
            session.flush()
            stored = store_attachments(session, desk, recorded, attachments)
            session.flush()
            carried, linked, carried_ids = _carried_and_linked(
                desk, ticket, attachments, stored, public=public
            )
    rendered = compose.render(
        kind.value,
        desk.language,
        {**base, **context},
        linked,
        overrides=str(desk.config.templates_path),
    )
    draft = Draft(
        rendered,
        from_name=from_name or desk.config.desk.name,
        from_addr=desk.address,
        to=to,
        to_name=to_name,
        message_id=message_id,
        date=now,
        loop_marker=desk.address,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=tuple(references or ()),
        automatic=automatic,
        attachment_ids=tuple(carried_ids),
    )
    queued = outbox.enqueue(
        session,
        draft,
        # Files recorded nowhere (no ticket) travel in the bytes, built now.
        raw=draft.build(carried).as_bytes() if carried and recorded is None else None,
        desk_id=desk.desk_id,
        ticket=ticket,
        kind=kind.value,
        recipient=to,
        envelope_from=reply_to or desk.address,
        automatic=automatic,
        now=now,
        cap_per_hour=desk.config.desk.autoreply_per_hour,
        ref=ref,
    )
    if recorded is not None:
        recorded.subject = rendered.subject
        recorded.text = rendered.text if record_text is None else record_text
        session.add(recorded)
    if queued.suppressed_count is not None:
        _tell_admins(session, desk, address=to, count=queued.suppressed_count, now=now)
    return queued.row


def _carried_and_linked(
    desk: Desk,
    ticket: Ticket,
    attachments: Sequence[MailAttachment],
    stored: Sequence[StoredAttachment],
    *,
    public: bool,
) -> tuple[list[MailAttachment], list[linked_files.LinkedFile], list[int]]:
    """The files the mail carries (and their stored rows' ids), and those it links: the
    status page's link for a resident, a signed link to the console's attachment view
    for staff."""
    limits = desk.config.limits
    attach = linked_files.split(
        attachments,
        per_file=limits.notice_attach_mb * linked_files.MB,
        total=limits.notice_attach_total_mb * linked_files.MB,
    )
    base = desk.config.desk.base_url.rstrip("/")
    carried: list[MailAttachment] = []
    carried_ids: list[int] = []
    linked: list[linked_files.LinkedFile] = []
    for item, row, fits in zip(attachments, stored, attach, strict=True):
        if fits:
            carried.append(item)
            carried_ids.append(row.id)
            continue
        if public:
            url = f"{desk.status_url(ticket.status_token)}/a/{row.id}"
        else:
            signature = signing.attachment_signature(desk.secret, ticket.number, row.id)
            url = f"{base}/staff/t/{ticket.number}/adjunto/{row.id}?firma={signature}"
        size = linked_files.size_label(len(item.data))
        linked.append(linked_files.LinkedFile(item.filename, size, url))
    return carried, linked, carried_ids


def _tell_admins(session: Session, desk: Desk, *, address: str, count: int, now: datetime) -> None:
    """Tell the admins once an hour that automatic mail to `address` is being held."""
    if outbox.notice_sent_recently(session, "rate_limit", address, now):
        return
    admins = [s for s in desk.config.staff if Role(s.role) is Role.ADMIN]
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
            kind=OutboxKind.RATE_LIMIT,
            to=admin.email,
            to_name=admin.name,
            now=now,
            context={"address": address, "count": count},
            ref=address,
        )
