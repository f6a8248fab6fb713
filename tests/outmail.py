"""Queued mail as the relay will get it, for tests that read the outbox before it sends.

Intake keeps a draft; the outbox worker builds the bytes (`outbound/draft.py`). These
build them the same way, through `draft.bytes_of`, without sending anything.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from maildesk.context import Desk
from maildesk.models import Outbox
from maildesk.outbound.draft import bytes_of


def queued_rows(desk: Desk, *where: ColumnElement[bool]) -> list[tuple[Outbox, bytes]]:
    """The outbox rows matching `where`, oldest first, each with its mail's bytes."""
    with desk.db.read_only() as session:
        rows = session.scalars(select(Outbox).where(*where).order_by(Outbox.id)).all()
        return [(row, bytes_of(session, desk.blobs, row)) for row in rows]


def queued_mail(desk: Desk, *where: ColumnElement[bool]) -> list[bytes]:
    """The bytes of the outbox's mail matching `where`, oldest first."""
    return [raw for _row, raw in queued_rows(desk, *where)]
