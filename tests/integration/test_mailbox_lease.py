"""The mailbox lease: of two fetchers on one mailbox one fetches, and the other takes over
when the holder dies, on the desk's clock (no sleeps)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.daemon import mailbox_lease, watcher_for
from maildesk.inbound.lease import Lease
from maildesk.inbound.sources.imap import Fetched, LeaseLost, mailbox_key
from maildesk.inbound.store import DatabaseMailboxStore
from maildesk.models import Inbound, MailboxLease
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import ImapUser

pytestmark = pytest.mark.integration

LEASE = 30


def two_leases(desk: Desk) -> tuple[Lease, Lease]:
    imap = desk.config.imap
    assert imap is not None
    return mailbox_lease(desk, imap), mailbox_lease(desk, imap)


def stored(desk: Desk) -> int:
    with desk.db.read_only() as session:
        return int(session.scalar(select(func.count(Inbound.id))) or 0)


@pytest.fixture
def leased_desk(make_desk: DeskFactory, imap_user: ImapUser) -> Desk:
    return make_desk(imap=imap_user.table(lease_seconds=LEASE, poll_seconds=1))


def test_a_second_fetcher_waits_and_takes_over_once_the_holder_stops_renewing(
    leased_desk: Desk, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The holder renews; the other waits (logged once) and takes over only after expiry."""
    first, second = two_leases(leased_desk)
    assert first.hold()
    with caplog.at_level(logging.INFO, logger="maildesk.inbound.lease"):
        assert not second.hold()
        assert not second.hold()
    waits = [r.getMessage() for r in caplog.records if "held by" in r.getMessage()]
    assert len(waits) == 1 and first.holder in waits[0]
    clock.advance(timedelta(seconds=LEASE - 1))
    assert first.hold()  # renewed: good for another LEASE seconds from now
    clock.advance(timedelta(seconds=LEASE - 1))
    assert not second.hold()
    clock.advance(timedelta(seconds=2))  # the first stopped renewing: it died
    assert second.hold()
    assert not first.hold()
    with leased_desk.db.read_only() as session:
        row = session.get(MailboxLease, (leased_desk.desk_id, first.mailbox))
        assert row is not None and row.holder == second.holder


def test_a_clean_stop_releases_the_lease_at_once(leased_desk: Desk) -> None:
    """Released on stop: the next fetcher need not wait for the expiry."""
    first, second = two_leases(leased_desk)
    assert first.hold()
    first.release()
    assert second.hold()


def test_a_fetcher_that_lost_its_lease_stores_nothing(leased_desk: Desk, clock: FixedClock) -> None:
    """The store's own transaction renews the lease; once taken over, it rolls back."""
    first, second = two_leases(leased_desk)
    assert first.hold()
    clock.advance(timedelta(seconds=LEASE + 1))
    assert second.hold()
    store = DatabaseMailboxStore(
        leased_desk.db, leased_desk.desk_id, clock, leased_desk.blobs, first
    )
    mail = Fetched(1, make_mail(subject="Fuga de agua — baño"), None)
    with pytest.raises(LeaseLost):
        store.store(first.mailbox, 7, [mail], 1, backfill=False)
    assert stored(leased_desk) == 0
    assert store.position(first.mailbox) is None


def test_two_watchers_on_one_mailbox_store_each_mail_once(
    leased_desk: Desk, imap_user: ImapUser, clock: FixedClock
) -> None:
    """Two real watchers: the holder fetches, the other fetches nothing until it takes over."""
    imap = leased_desk.config.imap
    assert imap is not None
    first, second = watcher_for(leased_desk, imap), watcher_for(leased_desk, imap)
    try:
        first.poll_once()  # a new mailbox starts from now
        second.poll_once()
        for i in range(3):
            imap_user.server.append(
                imap_user.username,
                make_mail(subject=f"Solicitud {i} — Ñandú", message_id=f"<lease{i}@x.example>"),
            )
        assert second.poll_once() == 0
        assert first.poll_once() == 3
        imap_user.server.append(imap_user.username, make_mail(subject="Otra más — depto 402"))
        clock.advance(timedelta(seconds=LEASE + 1))  # the first died without releasing
        assert second.poll_once() == 1
        assert first.poll_once() == 0
    finally:
        first.close()
        second.close()
    assert stored(leased_desk) == 4
    with leased_desk.db.read_only() as session:
        row = session.get(MailboxLease, (leased_desk.desk_id, mailbox_key(imap)))
        assert row is not None and row.holder.split(":")[1].isdigit()
