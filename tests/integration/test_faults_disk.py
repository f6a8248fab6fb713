"""A full disk while a mail's attachment is stored: the mail waits where it is and is taken later.

A tiny filesystem needs privileges, so the failure is injected at the storage
boundary (`maildesk/storage.py` raising ENOSPC); Dovecot, the listener and the
database are real.
"""

from __future__ import annotations

import errno
import smtplib

import pytest
from sqlalchemy import func, select

from maildesk.context import Desk
from maildesk.errors import TemporaryError
from maildesk.inbound.runner import process_pending
from maildesk.inbound.sources.imap import IMPORTED_FLAG, ImapWatcher
from maildesk.inbound.sources.listener import Listener
from maildesk.inbound.store import DatabaseMailboxStore
from maildesk.models import Attachment, Inbound, Ticket
from maildesk.storage import BlobStore
from tests.conftest import DeskFactory
from tests.mails import DESK, make_mail
from tests.servers import ImapUser, free_port

pytestmark = pytest.mark.integration

PHOTO = ("fuga-baño.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + b"x" * 2000)


def no_room(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def inbound_rows(desk: Desk) -> list[tuple[str, int]]:
    with desk.db.read_only() as session:
        return [(s, a) for s, a in session.execute(select(Inbound.status, Inbound.attempts))]


def ticket_and_attachment_counts(desk: Desk) -> tuple[int, int]:
    with desk.db.read_only() as session:
        tickets = session.scalar(select(func.count(Ticket.id))) or 0
        attachments = session.scalar(select(func.count(Attachment.id))) or 0
    return int(tickets), int(attachments)


def test_disk_full_leaves_the_mail_on_the_imap_server_and_never_quarantines_it(
    make_desk: DeskFactory, imap_user: ImapUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No room: the mail stays unflagged on Dovecot; no room while its attachment is
    written: it stays pending without counting attempts; with room: one ticket, one file."""
    desk = make_desk()
    store = DatabaseMailboxStore(desk.db, desk.desk_id, desk.clock, desk.blobs)
    watcher = ImapWatcher(imap_user.config(), store, now=desk.clock.now)
    try:
        assert watcher.poll_once() == 0  # the starting point
        uid = imap_user.server.append(imap_user.username, make_mail(attachments=[PHOTO]))
        with monkeypatch.context() as patch:
            patch.setattr(BlobStore, "check_room", no_room)
            with pytest.raises(TemporaryError, match="disk full"):
                watcher.poll_once()
            assert IMPORTED_FLAG not in imap_user.server.flags(imap_user.username)[uid]
            assert inbound_rows(desk) == []
        assert watcher.poll_once() == 1
        assert IMPORTED_FLAG in imap_user.server.flags(imap_user.username)[uid]
    finally:
        watcher.close()
    with monkeypatch.context() as patch:
        patch.setattr(BlobStore, "put", no_room)
        for _ in range(4):  # more tries than it takes to quarantine a failing mail
            with pytest.raises(TemporaryError, match="disk full"):
                process_pending(desk)
        assert inbound_rows(desk) == [("pending", 0)]
        assert ticket_and_attachment_counts(desk) == (0, 0)
    assert process_pending(desk).by_status == {"processed": 1}
    assert ticket_and_attachment_counts(desk) == (1, 1)


def test_disk_full_makes_the_listener_answer_451_and_the_retry_is_one_ticket(
    make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MTA hears 451 while the attachment cannot be written, and its retry makes one ticket."""
    desk = make_desk(listener={"listen": f"127.0.0.1:{free_port()}"})
    assert desk.config.listener is not None
    listener = Listener((desk,), desk.config.listener)
    listener.start()
    raw = make_mail(attachments=[PHOTO])
    try:
        for fault in ("check_room", "put"):
            with monkeypatch.context() as patch:
                patch.setattr(BlobStore, fault, no_room)
                with (
                    smtplib.SMTP("127.0.0.1", listener.port) as client,
                    pytest.raises(smtplib.SMTPDataError) as info,
                ):
                    client.sendmail("vecina@correo.example", [DESK], raw)
                assert info.value.smtp_code == 451
        with smtplib.SMTP("127.0.0.1", listener.port) as client:
            assert client.sendmail("vecina@correo.example", [DESK], raw) == {}
    finally:
        listener.stop()
    # One try counted: the one that worked; the disk-full ones were given back.
    assert inbound_rows(desk) == [("processed", 1)]
    assert ticket_and_attachment_counts(desk) == (1, 1)
