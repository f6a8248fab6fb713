"""`maildesk outbox send --once` and `outbox retry` as an operator runs them, against a real relay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.models import Outbox
from tests.conftest import DeskFactory
from tests.integration.test_cli import maildesk
from tests.mails import make_mail
from tests.servers import Relay

pytestmark = pytest.mark.integration


def queued_desk(make_desk: DeskFactory, relay: Relay, clock: FixedClock, count: int) -> Desk:
    """A desk on the relay with `count` confirmations queued a minute ago (due for the real clock)."""
    clock.current = datetime.now(UTC) - timedelta(minutes=1)
    desk = make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"})
    for i in range(count):
        accept(
            desk, make_mail(sender=f"r{i}@correo.example", message_id=f"<q{i}@x>"), source="pipe"
        )
    return desk


def statuses(desk: Desk) -> list[str]:
    with desk.db.read_only() as session:
        return list(session.scalars(select(Outbox.status).order_by(Outbox.id)))


def test_send_once_delivers_the_whole_queue_on_one_connection(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock, tmp_path: Path
) -> None:
    """`outbox send --once` delivers all 50 queued mails, not one batch, over one SMTP connection."""
    desk = queued_desk(make_desk, relay, clock, 50)
    config = str(tmp_path / "maildesk.toml")
    done = maildesk("--config", config, "outbox", "send", "--once", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sent 50,"), done.stdout
    assert len(relay.wait_for(50)) == 50
    assert statuses(desk) == ["sent"] * 50
    assert relay.connections == 1


def test_retry_makes_dead_and_backing_off_mail_due_now(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock, tmp_path: Path
) -> None:
    """After the relay is fixed, `outbox retry` sends a dead mail and one backing off at once."""
    desk = queued_desk(make_desk, relay, clock, 2)
    config = str(tmp_path / "maildesk.toml")
    relay.fail_with = "554 5.7.1 relay misconfigured"
    with desk.db.transaction() as session:
        first, second = session.scalars(select(Outbox).order_by(Outbox.id))
        first.status, first.attempts, first.last_error = "dead", 12, "554 relay misconfigured"
        second.attempts, second.next_attempt_at = 5, datetime.now(UTC) + timedelta(hours=2)
        ids = [str(first.id), str(second.id)]
    relay.fail_with = None
    done = maildesk("--config", config, "outbox", "send", "--once", cwd=tmp_path)
    assert done.stdout.startswith("sent 0,") and relay.messages == []
    done = maildesk("--config", config, "outbox", "retry", ids[0], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with desk.db.read_only() as session:
        row = session.get(Outbox, int(ids[0]))
        assert row is not None and (row.status, row.attempts) == ("pending", 0)
    done = maildesk("--config", config, "outbox", "retry", "--all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = maildesk("--config", config, "outbox", "send", "--once", cwd=tmp_path)
    assert done.stdout.startswith("sent 2,"), done.stdout
    assert len(relay.wait_for(2)) == 2
    assert statuses(desk) == ["sent", "sent"]


def test_retry_of_a_sent_or_unknown_mail_is_an_error(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock, tmp_path: Path
) -> None:
    """`outbox retry` names the mails it cannot retry and exits 1; no arguments is a usage error."""
    queued_desk(make_desk, relay, clock, 1)
    config = str(tmp_path / "maildesk.toml")
    maildesk("--config", config, "outbox", "send", "--once", cwd=tmp_path)
    done = maildesk("--config", config, "outbox", "retry", "1", "999", cwd=tmp_path)
    assert done.returncode == 1
    assert "1: sent" in done.stderr and "999: no such mail" in done.stderr
    assert maildesk("--config", config, "outbox", "retry", cwd=tmp_path).returncode == 2
