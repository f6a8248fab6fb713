"""Importing a mail with a big attachment holds the mail once, not once a step."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.inbound import runner
from maildesk.inbound import store as ingest
from maildesk.models import Attachment, Inbound
from tests.unit.test_big_mail import MB, big_mail

pytestmark = pytest.mark.integration


def test_the_import_of_a_big_mail_holds_its_files_once(desk: Desk) -> None:
    """Python's share of the import, the reader child's reading aside: the stored mail goes
    to the child as a file, never through this process, and the attachment comes back
    once. It was 2.4 times the mail: the raw mail loaded twice through the ORM and the
    parsed mail received pickled. (SQLite's and the driver's own copies are not traced.)"""
    raw = big_mail(10 * MB)
    with desk.db.transaction() as session:
        warm_up = ingest.store(
            session, desk_id=desk.desk_id, raw=big_mail(1000), source="pipe", now=desk.clock.now()
        )
        stored = ingest.store(
            session, desk_id=desk.desk_id, raw=raw, source="pipe", now=desk.clock.now()
        )
    # A small one first imports what the import uses (the holidays' tables alone are 11 MB).
    assert runner.process_one(desk, warm_up.inbound_id) == "processed"
    tracemalloc.start()
    try:
        status = runner.process_one(desk, stored.inbound_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == "processed"
    assert peak < 1.2 * len(raw), f"peak {peak / len(raw):.2f}x the mail"
    with desk.db.read_only() as session:
        [planos] = session.scalars(select(Attachment).where(Attachment.size == 10 * MB))
        kept = session.scalars(select(Inbound.raw).where(Inbound.id == stored.inbound_id)).one()
    assert planos.filename == "planos.bin" and planos.size == 10 * MB
    assert hashlib.sha256(desk.blobs.get(planos.sha256)).hexdigest() == planos.sha256
    assert kept == raw


def test_a_stored_mail_comes_back_whole_through_its_file(desk: Desk) -> None:
    """The raw mail is written and read a piece at a time; no byte moves, CRLF or not."""
    raw = big_mail(3 * MB).replace(b"\n", b"\r\n")
    with desk.db.transaction() as session:
        stored = ingest.store(
            session, desk_id=desk.desk_id, raw=raw, source="pipe", now=desk.clock.now()
        )
    with (
        desk.db.read_only() as session,
        ingest.raw_file(session, desk.blobs, stored.inbound_id) as file,
    ):
        assert file.read() == raw
    assert ingest.dedupe_key(raw) == ingest.dedupe_key(raw.replace(b"\r\n", b"\n"))
