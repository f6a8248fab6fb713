"""IMAP faults between the watcher and a real Dovecot, with the real database behind it.

A proxy cuts the connection in the middle of a FETCH and under IDLE; a folder
recreated with a new UIDVALIDITY is fetched again. Each time, every mail ends as
exactly one ticket with one confirmation queued, flagged on the server, never \\Seen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from maildesk.context import Desk
from maildesk.inbound.runner import process_pending
from maildesk.inbound.sources.imap import IMPORTED_FLAG, ImapWatcher
from maildesk.inbound.store import DatabaseMailboxStore
from maildesk.models import Inbound, Outbox, Ticket
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import CuttableProxy, ImapUser

# The watcher does not depend on the database kind: SQLite alone keeps the suite short.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def proxy(imap_user: ImapUser) -> Iterator[CuttableProxy]:
    server = CuttableProxy(imap_user.host, imap_user.port)
    try:
        yield server
    finally:
        server.close()


def watcher_for(desk: Desk, imap_user: ImapUser, **config: object) -> ImapWatcher:
    store = DatabaseMailboxStore(desk.db, desk.desk_id, desk.clock, desk.blobs)
    return ImapWatcher(
        imap_user.config(**config), store, now=desk.clock.now, backoff=lambda _attempt: 0.1
    )


def mails(count: int, *, start: int = 0) -> list[bytes]:
    return [
        make_mail(
            sender=f"vecino{i}@correo.example",
            subject=f"Solicitud {i} — calefacción",
            body=f"Sin calefacción en el depto {100 + i}.\n" + "Detalle del problema. " * 150,
            message_id=f"<imap{i}@correo.example>",
        )
        for i in range(start, start + count)
    ]


def one_ticket_and_one_confirmation_each(desk: Desk, count: int) -> None:
    with desk.db.read_only() as session:
        assert session.scalar(select(func.count(Inbound.id))) == count
        assert session.scalar(select(func.count(Ticket.id))) == count
        per_ticket = session.execute(
            select(Outbox.ticket_id, func.count(Outbox.id)).group_by(Outbox.ticket_id)
        ).all()
    assert len(per_ticket) == count and all(n == 1 for _, n in per_ticket)


def all_flagged_none_seen(imap_user: ImapUser, folder: str = "INBOX") -> None:
    flags = imap_user.server.flags(imap_user.username, folder)
    assert all(IMPORTED_FLAG in f and b"\\Seen" not in f for f in flags.values()), flags


def test_connection_cut_in_the_middle_of_a_fetch(
    make_desk: DeskFactory, imap_user: ImapUser, proxy: CuttableProxy
) -> None:
    """The stream ends halfway through the second batch's FETCH: the pass fails, the next
    one fetches what is left, and ten mails are ten tickets."""
    desk = make_desk()
    watcher = watcher_for(desk, imap_user, port=proxy.port, batch_size=4)
    try:
        assert watcher.poll_once() == 0
        imap_user.server.append_many(imap_user.username, mails(10))
        proxy.cut_after(24_000)  # past the first batch (4 × ~4 KB), inside the second
        with pytest.raises(Exception):  # noqa: B017 - imaplib's abort or a socket error
            watcher.poll_once()
        assert proxy.cuts == 1
        flags = imap_user.server.flags(imap_user.username)
        assert 0 < sum(IMPORTED_FLAG in f for f in flags.values()) < 10  # a batch was kept
        assert watcher.poll_once() > 0
    finally:
        watcher.close()
    process_pending(desk)
    one_ticket_and_one_confirmation_each(desk, 10)
    all_flagged_none_seen(imap_user)


def test_connection_cut_while_waiting_in_idle(
    make_desk: DeskFactory, imap_user: ImapUser, proxy: CuttableProxy
) -> None:
    """The connection dies under IDLE: the watcher notices, reconnects, and the mail that
    arrives meanwhile becomes a ticket within seconds, not at the next 10-minute poll."""
    desk = make_desk()
    watcher = watcher_for(desk, imap_user, port=proxy.port, poll_seconds=600, timeout_seconds=5)
    stop = threading.Event()
    thread = threading.Thread(
        target=watcher.run, args=(stop, lambda _n: process_pending(desk)), daemon=True
    )
    thread.start()
    try:
        for round_, cut in enumerate((True, True, False)):
            deadline = time.monotonic() + 10
            while not proxy.seen(b"IDLE\r\n"):
                assert time.monotonic() < deadline, "the watcher never went into IDLE"
                time.sleep(0.02)
            proxy.forget_seen()
            if cut:
                proxy.cut()
            imap_user.server.append(imap_user.username, mails(1, start=round_)[0])
            deadline = time.monotonic() + 15
            while tickets(desk) < round_ + 1:
                assert time.monotonic() < deadline, f"mail {round_} never became a ticket"
                time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    one_ticket_and_one_confirmation_each(desk, 3)
    all_flagged_none_seen(imap_user)


def tickets(desk: Desk) -> int:
    with desk.db.read_only() as session:
        return int(session.scalar(select(func.count(Ticket.id))) or 0)


def test_new_uidvalidity_refetches_the_folder_without_a_second_ticket(
    make_desk: DeskFactory, imap_user: ImapUser
) -> None:
    """A folder recreated (new UIDVALIDITY) with the same mail plus one new: the old mail is
    deduplicated, the new one is one more ticket."""
    user, folder = imap_user.username, "Soporte"
    imap_user.server.create_folder(user, folder)
    desk = make_desk()
    watcher = watcher_for(desk, imap_user, folder=folder)
    long_ago = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    try:
        assert watcher.poll_once() == 0
        old = mails(3)
        imap_user.server.append_many(user, old, folder, msg_time=long_ago)
        assert watcher.poll_once() == 3
        process_pending(desk)
        one_ticket_and_one_confirmation_each(desk, 3)
        before = imap_user.server.uidvalidity(user, folder)
        imap_user.server.delete_folder(user, folder)
        imap_user.server.append_many(user, old, folder, msg_time=long_ago)
        imap_user.server.append(user, mails(1, start=3)[0], folder)
        assert imap_user.server.uidvalidity(user, folder) != before
        assert watcher.poll_once() == 4
    finally:
        watcher.close()
    process_pending(desk)
    one_ticket_and_one_confirmation_each(desk, 4)
    all_flagged_none_seen(imap_user, folder)
