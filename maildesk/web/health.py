"""`/healthz` for monitoring: database, IMAP passes, quarantine and outbox, as JSON.

503 when the database does not answer; when the configured IMAP mailbox has not
completed a pass within its bound (two polling intervals or two minutes, whichever
is longer), or never has, once this process has run for one bound; when a part of
this process reports a lasting failure (a refused login: `failing` says why); or when
the oldest pending outbox mail has waited more than an hour. 200 otherwise.

The page is public, so a mailbox is shown by its folder and a short digest of its
key, never the `imap://user@host:port/folder` key itself (a login and a host).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from maildesk.inbound.sources.imap import mailbox_key
from maildesk.models import Inbound, MailboxPosition, Outbox
from maildesk.outbound.outbox import PENDING
from maildesk.web import desk_of_app

bp = Blueprint("health", __name__)

OUTBOX_MAX_AGE = timedelta(hours=1)
IMAP_STALE_POLLS = 2
IMAP_MIN_BOUND = timedelta(minutes=2)  # IDLE and slow networks: a pass may take a while


def public_mailbox(key: str) -> dict[str, str]:
    """What monitoring may see of a mailbox key: its folder and a stable 8-hex digest."""
    return {
        "mailbox": key.rpartition("/")[2],
        "id": hashlib.sha256(key.encode()).hexdigest()[:8],
    }


def _age(now: datetime, then: datetime) -> float:
    return round((now - then).total_seconds(), 1)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    desk = desk_of_app()
    headers = {"Cache-Control": "no-store"}
    if not desk.db.ping():
        return jsonify({"status": "fail", "database": "unreachable"}), 503, headers
    now = desk.clock.now()
    problems: list[str] = []
    try:
        with desk.db.read_only() as session:
            positions = session.scalars(
                select(MailboxPosition).order_by(MailboxPosition.mailbox)
            ).all()
            waiting = session.scalar(
                select(func.count(Inbound.id)).where(
                    Inbound.desk_id == desk.desk_id, Inbound.status == "pending"
                )
            )
            quarantined = session.scalar(
                select(func.count(Inbound.id)).where(
                    Inbound.desk_id == desk.desk_id, Inbound.status == "quarantined"
                )
            )
            pending, oldest = session.execute(
                select(func.count(Outbox.id), func.min(Outbox.created_at)).where(
                    Outbox.desk_id == desk.desk_id, Outbox.status == PENDING
                )
            ).one()
    except SQLAlchemyError:
        return jsonify({"status": "fail", "database": "unreachable"}), 503, headers
    mailboxes: list[dict[str, Any]] = [
        {
            **public_mailbox(p.mailbox),
            "last_pass": p.checked_at.isoformat(),
            "age_seconds": _age(now, p.checked_at),
        }
        for p in positions
    ]
    imap = desk.config.imap
    if imap is not None and imap.host:
        bound = max(timedelta(seconds=IMAP_STALE_POLLS * imap.poll_seconds), IMAP_MIN_BOUND)
        key = mailbox_key(imap)
        last = next((p.checked_at for p in positions if p.mailbox == key), None)
        # A freshly started process has one bound to make its first pass.
        if now - desk.runtime.started_at > bound:
            if last is None:
                problems.append("imap_never_connected")
            elif now - last > bound:
                problems.append("imap_stale")
    failing = desk.runtime.current()
    problems.extend(f"{part}_failing" for part in sorted(failing))
    # The column type gives aware UTC times back; min() over it may come back naive.
    oldest_at = oldest.replace(tzinfo=now.tzinfo) if oldest and oldest.tzinfo is None else oldest
    oldest_age = _age(now, oldest_at) if oldest_at is not None else None
    if oldest_at is not None and now - oldest_at > OUTBOX_MAX_AGE:
        problems.append("outbox_stale")
    body = {
        "status": "fail" if problems else "ok",
        "problems": problems,
        "database": "ok",
        "mailboxes": mailboxes,
        "failing": failing,
        "waiting_to_process": int(waiting or 0),
        "quarantined": int(quarantined or 0),
        "outbox": {"pending": int(pending or 0), "oldest_pending_age_seconds": oldest_age},
    }
    return jsonify(body), 503 if problems else 200, headers
