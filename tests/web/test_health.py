"""`/healthz` reports the database, IMAP passes, quarantine and the outbox, and fails on staleness."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.db import Database
from maildesk.inbound.sources.imap import mailbox_key
from maildesk.models import Inbound, MailboxPosition
from tests.conftest import DeskFactory
from tests.web.conftest import client_for, open_ticket


def test_healthy_desk_answers_200_with_its_figures(desk: Desk) -> None:
    """A fresh desk with a just-queued confirmation is healthy; the JSON gives the outbox depth."""
    open_ticket(desk)
    response = client_for(desk).get("/healthz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["outbox"]["pending"] == 1 and body["outbox"]["oldest_pending_age_seconds"] == 0
    assert body["quarantined"] == 0 and body["mailboxes"] == []


def test_old_pending_outbox_mail_answers_503(desk: Desk, clock: FixedClock) -> None:
    """A mail pending for more than an hour makes the desk unhealthy."""
    open_ticket(desk)
    clock.advance(timedelta(minutes=61))
    response = client_for(desk).get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["problems"] == ["outbox_stale"]


def test_unreachable_database_answers_503(desk: Desk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A database that cannot be opened answers 503."""
    broken = replace(desk, db=Database(f"sqlite:///{tmp_path}/missing/dir/x.db"))
    response = client_for(broken).get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_stale_imap_pass_answers_503_and_quarantine_is_counted(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """A mailbox not passed within two minutes (2 × poll_seconds when longer) fails the check; quarantined mails are counted."""
    desk = make_desk(
        imap={"host": "imap.example", "username": "u", "password": "p", "poll_seconds": 30}
    )
    assert desk.config.imap is not None
    key = mailbox_key(desk.config.imap)
    now = clock.now()
    with desk.db.transaction() as session:
        session.add(MailboxPosition(mailbox=key, uidvalidity=1, last_uid=5, checked_at=now))
        session.add(
            Inbound(
                desk_id=desk.desk_id,
                source="imap",
                dedupe_key="k",
                raw=b"x",
                size=1,
                received_at=now,
                status="quarantined",
            )
        )
    client = client_for(desk)
    fresh = client.get("/healthz")
    assert fresh.status_code == 200
    assert fresh.get_json()["quarantined"] == 1
    shown = fresh.get_json()["mailboxes"][0]
    assert shown["mailbox"] == "INBOX" and len(shown["id"]) == 8
    # The public page names no login and no host (issue 15).
    assert "imap.example" not in fresh.get_data(as_text=True)
    assert "u@" not in fresh.get_data(as_text=True)
    clock.advance(timedelta(seconds=120))
    assert client.get("/healthz").status_code == 200
    clock.advance(timedelta(seconds=1))
    stale = client.get("/healthz")
    assert stale.status_code == 503 and stale.get_json()["problems"] == ["imap_stale"]
    assert stale.get_json()["mailboxes"][0]["age_seconds"] == 121


def test_slow_polling_stretches_the_bound_to_two_intervals(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """With poll_seconds = 600 a pass 20 minutes old is fine and one a second older is stale."""
    desk = make_desk(
        imap={"host": "imap.example", "username": "u", "password": "p", "poll_seconds": 600}
    )
    assert desk.config.imap is not None
    with desk.db.transaction() as session:
        session.add(
            MailboxPosition(
                mailbox=mailbox_key(desk.config.imap),
                uidvalidity=1,
                last_uid=5,
                checked_at=clock.now(),
            )
        )
    clock.advance(timedelta(seconds=1200))
    assert client_for(desk).get("/healthz").status_code == 200
    clock.advance(timedelta(seconds=1))
    assert client_for(desk).get("/healthz").get_json()["problems"] == ["imap_stale"]


def test_a_mailbox_that_never_connected_fails_after_the_grace_period(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """A configured mailbox with no pass yet is fine for one bound after start, then answers 503."""
    desk = make_desk(
        imap={"host": "imap.example", "username": "u", "password": "p", "poll_seconds": 30}
    )
    client = client_for(desk)
    clock.advance(timedelta(seconds=120))
    assert client.get("/healthz").status_code == 200
    clock.advance(timedelta(seconds=1))
    never = client.get("/healthz")
    assert never.status_code == 503
    assert never.get_json()["problems"] == ["imap_never_connected"]


def test_a_lasting_mailbox_failure_answers_503_with_the_reason(desk: Desk) -> None:
    """A part that reports a lasting failure (a refused login) fails the check at once, saying why."""
    reason = "imap.password: the server refused the login of 'u'"
    desk.runtime.report("fetch", reason)
    failing = client_for(desk).get("/healthz")
    assert failing.status_code == 503
    assert failing.get_json()["problems"] == ["fetch_failing"]
    assert failing.get_json()["failing"] == {"fetch": reason}
    desk.runtime.report("fetch", None)
    assert client_for(desk).get("/healthz").status_code == 200
