"""Where an IMAP pass starts, decided as pure code: one case per situation."""

from __future__ import annotations

from datetime import UTC, datetime

from maildesk.inbound.sources.imap import Backfill, Position, StartKind, where_to_start

CHECKED = datetime(2026, 11, 23, 13, 0, 30, 900_000, tzinfo=UTC)


def test_a_new_mailbox_starts_from_now() -> None:
    """No position and no import: everything below UIDNEXT is old and stays unread by us."""
    start = where_to_start(None, uidvalidity=7, uidnext=41, highest_uid=None, import_existing=False)
    assert (start.kind, start.last_uid, start.pending, start.must_record) == (
        StartKind.FROM_NOW,
        40,
        None,
        False,
    )


def test_without_uidnext_the_highest_uid_stands_in() -> None:
    """A server that sends no UIDNEXT: the highest UID found is where now begins."""
    start = where_to_start(None, uidvalidity=7, uidnext=None, highest_uid=12, import_existing=False)
    assert start.last_uid == 12


def test_a_new_mailbox_with_import_existing_imports_as_backfill() -> None:
    """import_existing: from UID 0, everything below UIDNEXT is backfill, and the start is recorded."""
    start = where_to_start(None, uidvalidity=7, uidnext=41, highest_uid=None, import_existing=True)
    assert (start.kind, start.last_uid, start.pending, start.must_record) == (
        StartKind.IMPORT,
        0,
        Backfill(41),
        True,
    )


def test_a_changed_uidvalidity_fetches_again_with_older_mail_as_backfill() -> None:
    """A new UIDVALIDITY: the folder again, mail older than the last pass (whole seconds) as backfill."""
    position = Position(uidvalidity=7, last_uid=40, checked_at=CHECKED)
    start = where_to_start(
        position, uidvalidity=8, uidnext=5, highest_uid=None, import_existing=False
    )
    assert start.kind is StartKind.UIDVALIDITY_CHANGED
    assert (start.last_uid, start.must_record) == (0, True)
    assert start.pending == Backfill(5, CHECKED.replace(microsecond=0))


def test_a_known_mailbox_resumes_and_keeps_its_import_under_way() -> None:
    """Same UIDVALIDITY: after the last UID handled, with any unfinished import."""
    backfill = Backfill(30)
    position = Position(uidvalidity=7, last_uid=20, checked_at=CHECKED, backfill=backfill)
    start = where_to_start(
        position, uidvalidity=7, uidnext=41, highest_uid=None, import_existing=True
    )
    assert (start.kind, start.last_uid, start.pending, start.must_record) == (
        StartKind.RESUME,
        20,
        backfill,
        False,
    )
