"""Two outbox workers share the queue: a mail leaves once, even when a slow relay makes a
worker's batch outlast its claim and another worker takes over the rest of it."""

from __future__ import annotations

import email
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from email.policy import default

import pytest
from sqlalchemy import select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.models import Outbox
from maildesk.outbound import outbox
from tests.conftest import DeskFactory
from tests.mails import make_mail

pytestmark = pytest.mark.integration

LEASE = timedelta(seconds=13)  # a 1 s relay timeout's: 3 x 1 s + 10 s


class Recording:
    """A transport at the relay's place: the Message-IDs it was handed, in order, and what
    to do while it "sends" each (a slow relay)."""

    def __init__(self, during: Sequence[Callable[[], None]] = ()) -> None:
        self.sent: list[str] = []
        self.during = list(during)

    def batch(self) -> AbstractContextManager[None]:
        return nullcontext()

    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> None:
        self.sent.append(str(email.message_from_bytes(raw, policy=default)["Message-ID"]))
        if self.during:
            self.during.pop(0)()


def send(desk: Desk, transport: Recording) -> outbox.SendReport:
    return outbox.send_due(
        desk.db,
        transport,
        desk.clock,
        desk.receipts(),
        desk.blobs,
        desk_id=desk.desk_id,
        max_attempts=3,
        lease=LEASE,
    )


def test_a_batch_that_outlasts_its_claim_leaves_what_another_worker_took(
    make_desk: DeskFactory, clock: FixedClock
) -> None:
    """Worker A claims three confirmations and sends them over a slow relay, 8 s each, so
    its claim (13 s) ends before the third; worker B claims that one meanwhile and sends
    it. A renews its claim before each later send, and skips the one B took: each mail
    leaves once."""
    desk = make_desk()
    for n in range(3):
        accept(
            desk, make_mail(sender=f"vecina{n}@correo.example", subject=f"Fuga {n}"), source="pipe"
        )
    b = Recording()

    def slow() -> None:
        clock.advance(timedelta(seconds=8))

    def slow_and_b_meanwhile() -> None:
        slow()
        assert send(desk, b).sent == 1

    a = Recording(during=[slow, slow_and_b_meanwhile])
    assert send(desk, a).sent == 2
    assert len(a.sent) == 2 and len(b.sent) == 1
    assert len(set(a.sent + b.sent)) == 3
    with desk.db.read_only() as session:
        assert set(session.scalars(select(Outbox.status))) == {"sent"}


def test_a_quick_batch_renews_no_claim(make_desk: DeskFactory) -> None:
    """Within a second of its claim a batch sends without another statement per mail."""
    desk = make_desk()
    for n in range(3):
        accept(
            desk, make_mail(sender=f"vecina{n}@correo.example", subject=f"Fuga {n}"), source="pipe"
        )
    renewed: list[int] = []
    keep = outbox._keep_claim
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbox, "_keep_claim", lambda *a: renewed.append(a[1]) or keep(*a))
        assert send(desk, Recording()).sent == 3
    assert renewed == []
