"""Intake keeps a draft; the outbox worker builds the mail once, before the first try.

The bytes the relay gets are the bytes kept on the row, the same on every retry; a file
the mail carries comes from the blob store; a draft the composer refuses is given up,
never sent half-built.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from maildesk.clock import FixedClock
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.models import Outbox
from maildesk.outbound.compose import Rendered
from maildesk.outbound.draft import Draft
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import Relay

pytestmark = pytest.mark.integration

STAFF = [
    {
        "email": "ana@alameda.example",
        "name": "Ana Pérez",
        "role": "agent",
        "teams": ["mantenimiento", "administración", "recepción"],
    }
]
PHOTO = ("foto_baño.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(range(256)) * 40)


def test_intake_keeps_drafts_and_the_worker_sends_and_keeps_what_it_built(
    make_desk: DeskFactory, relay: Relay
) -> None:
    """No bytes at intake; after the send each row holds exactly what the relay received,
    the staff notice carrying the resident's photo from the blob store."""
    desk = make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"}, staff=STAFF)
    accept(desk, make_mail(subject="Fuga en el baño", attachments=[PHOTO]), source="pipe")
    with desk.db.read_only() as session:
        queued = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        assert [(row.kind, row.raw) for row in queued] == [
            ("confirmation", None),
            ("staff_notice", None),
        ]
        assert all(row.draft and "Fuga en el baño" in row.draft for row in queued)
    assert send_outbox(desk).sent == 2
    relayed = {m.rcpt_tos[0]: m.raw for m in relay.wait_for(2)}
    with desk.db.read_only() as session:
        kept = {row.recipient: row.raw for row in session.scalars(select(Outbox))}
    assert kept == relayed
    notice = kept["ana@alameda.example"]
    assert notice is not None and b"foto_ba" in notice
    assert b"Content-Type: image/jpeg" in notice


def test_a_retry_sends_the_bytes_of_the_first_try(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """A 451 on the first try keeps the built bytes; the retry sends them unchanged."""
    desk = make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"})
    accept(desk, make_mail(), source="pipe")
    relay.fail_with = "451 4.3.0 try later"
    assert send_outbox(desk).retried == 1
    with desk.db.read_only() as session:
        first = session.scalars(select(Outbox.raw)).one()
    assert first is not None and b"Message-ID:" in first
    relay.fail_with = None
    clock.advance(timedelta(minutes=5))
    assert send_outbox(desk).sent == 1
    [received] = relay.wait_for(1)
    with desk.db.read_only() as session:
        assert session.scalars(select(Outbox.raw)).one() == first
    assert received.raw == first


def test_a_draft_that_cannot_be_built_is_given_up_not_sent(
    make_desk: DeskFactory, relay: Relay
) -> None:
    """A draft that cannot be built (here cut short) makes its mail dead with the reason,
    at once rather than at every pass; nothing of it reaches the relay and the other
    mail still goes."""
    desk = make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"})
    accept(desk, make_mail(), source="pipe")
    with desk.db.transaction() as session:
        session.execute(update(Outbox).values(draft='{"subject": "[#1] Fuga en el ba'))
    accept(desk, make_mail(sender="otro@correo.example", subject="Ruido"), source="pipe")
    report = send_outbox(desk)
    assert (report.sent, report.dead) == (1, 1)
    with desk.db.read_only() as session:
        dead = session.scalars(select(Outbox).where(Outbox.status == "dead")).one()
    assert dead.raw is None and dead.last_error.startswith("not built:")
    assert dead.attempts == 1
    assert [m.rcpt_tos for m in relay.messages] == [("otro@correo.example",)]


def test_a_draft_survives_its_json_with_every_field() -> None:
    """Accents, Ñ, threading and file ids come back from the stored text as they went in."""
    draft = Draft(
        Rendered("[#7] Ñandú: fuga", "Hola María:\n\nÑ y acentos.", "<p>Hola María</p>"),
        from_name="Edificio Ñandú",
        from_addr="soporte@alameda.example",
        to="vecina@correo.example",
        to_name="María Ñúñez",
        message_id="<md.7@alameda.example>",
        date=datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
        loop_marker="soporte@alameda.example",
        reply_to="soporte+7-x@alameda.example",
        in_reply_to="<b@correo.example>",
        references=("<a@correo.example>", "<b@correo.example>"),
        automatic=True,
        attachment_ids=(3, 1),
    )
    assert Draft.from_json(draft.to_json()) == draft
