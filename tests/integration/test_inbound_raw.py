"""Migration 0019: raw mail moves to `inbound_raw`, except what the previous release reads."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from maildesk.context import Desk
from maildesk.inbound import runner
from maildesk.inbound import store as ingest
from maildesk.inbound.accept import accept
from maildesk.migrations import HEAD
from maildesk.models import InboundRaw
from tests.integration.test_upgrade import downgrade
from tests.mails import make_mail

pytestmark = pytest.mark.integration


def in_inbound(desk: Desk) -> dict[int, bytes]:
    with desk.db.engine.connect() as connection:
        return {i: bytes(raw) for i, raw in connection.execute(text("SELECT id, raw FROM inbound"))}


def read_back(desk: Desk, inbound_id: int) -> bytes:
    with desk.db.read_only() as session, ingest.raw_file(session, desk.blobs, inbound_id) as file:
        return file.read()


def test_a_downgrade_puts_the_mail_back_and_the_upgrade_moves_all_but_pending_mail(
    desk: Desk,
) -> None:
    """Down to 0018 every mail is in its `inbound` row again; up to 0019 the settled ones
    move and the pending one stays, is read from there and is processed."""
    done = make_mail(sender="vecina@correo.example", subject="Fuga en el baño, torre Ñ")
    waiting = make_mail(sender="vecino@correo.example", subject="Portón", message_id="<p@x>")
    settled = accept(desk, done, source="pipe").inbound_id
    with desk.db.transaction() as session:
        pending = ingest.store(
            session, desk_id=desk.desk_id, raw=waiting, source="pipe", now=desk.clock.now()
        ).inbound_id
    assert in_inbound(desk) == {settled: b"", pending: b""}

    downgrade(desk, "0018")
    assert in_inbound(desk) == {settled: done, pending: waiting}

    desk.db.upgrade()
    assert desk.db.revision() == HEAD
    assert in_inbound(desk) == {settled: b"", pending: waiting}
    with desk.db.read_only() as session:
        moved = session.execute(select(InboundRaw.inbound_id, InboundRaw.raw))
        assert {row.inbound_id: row.raw for row in moved} == {settled: done}
    assert (read_back(desk, settled), read_back(desk, pending)) == (done, waiting)
    assert runner.process_one(desk, pending) == "processed"
