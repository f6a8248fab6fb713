"""Nothing lost, nothing twice: relay outages, failing mails, loops, unreachable databases."""

from __future__ import annotations

import email
import io
import smtplib
from datetime import timedelta
from email.policy import default

import pytest
from sqlalchemy import func, select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.daemon import send_outbox
from maildesk.errors import TemporaryError
from maildesk.inbound import runner as process
from maildesk.inbound.accept import accept
from maildesk.inbound.sources.listener import Listener
from maildesk.inbound.sources.pipe import EX_TEMPFAIL, ingest_stream
from maildesk.models import Inbound, Outbox, Ticket
from maildesk.tickets import opening
from tests.conftest import DeskFactory
from tests.mails import DESK, make_mail
from tests.servers import Relay, free_port

pytestmark = pytest.mark.integration


def relay_config(relay: Relay) -> dict[str, object]:
    return {"host": relay.host, "port": relay.port, "security": "none"}


def outbox_rows(desk: Desk) -> list[tuple[str, str, str]]:
    """(kind, recipient, status) of every queued mail, oldest first."""
    with desk.db.read_only() as session:
        return [
            tuple(r)
            for r in session.execute(
                select(Outbox.kind, Outbox.recipient, Outbox.status).order_by(Outbox.id)
            )
        ]  # type: ignore[misc]


def outbox_statuses(desk: Desk) -> list[str]:
    with desk.db.read_only() as session:
        return list(session.scalars(select(Outbox.status).order_by(Outbox.id)))


def test_relay_down_then_up_delivers_everything_once(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """While the relay is down mail waits with backoff; once it is up each mail arrives exactly once."""
    desk = make_desk(smtp=relay_config(relay))
    for i in range(5):
        accept(
            desk,
            make_mail(subject=f"Solicitud {i}", message_id=f"<m{i}@correo.example>"),
            source="pipe",
        )
    relay.stop()
    report = send_outbox(desk)
    assert (report.sent, report.retried) == (0, 5)
    assert send_outbox(desk).retried == 0  # not due yet: backoff holds them
    relay.start()
    clock.advance(timedelta(minutes=1))
    assert send_outbox(desk).sent == 5
    clock.advance(timedelta(hours=3))
    assert send_outbox(desk).sent == 0
    ids = [email.message_from_bytes(m.raw, policy=default)["Message-ID"] for m in relay.wait_for(5)]
    assert len(ids) == len(set(ids)) == 5
    assert outbox_statuses(desk) == ["sent"] * 5


def test_relay_refusing_temporarily_then_permanently(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """A 451 is retried with the same bytes; a 550 is given up at once and recorded."""
    desk = make_desk(smtp=relay_config(relay))
    accept(desk, make_mail(), source="pipe")
    relay.fail_with = "451 4.3.0 try later"
    assert send_outbox(desk).retried == 1
    with desk.db.read_only() as session:
        row = session.scalars(select(Outbox)).one()
    assert row.attempts == 1 and "451" in row.last_error and row.next_attempt_at > clock.now()
    relay.fail_with = "550 5.1.1 no such user"
    clock.advance(timedelta(minutes=2))
    assert send_outbox(desk).dead == 1
    assert outbox_statuses(desk) == ["dead"]


def test_gives_up_after_max_attempts(make_desk: DeskFactory, clock: FixedClock) -> None:
    """A relay that never answers ends in a dead letter after max_attempts, not an endless loop."""
    desk = make_desk(
        smtp={
            "host": "127.0.0.1",
            "port": free_port(),
            "security": "none",
            "max_attempts": 3,
            "timeout_seconds": 2,
        }
    )
    accept(desk, make_mail(), source="pipe")
    for _ in range(3):
        send_outbox(desk)
        clock.advance(timedelta(hours=3))
    assert outbox_statuses(desk) == ["dead"]


def test_failing_mail_is_quarantined_after_three_tries_and_reimported(
    make_desk: DeskFactory, relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mail whose processing keeps failing is rolled back each time, quarantined on the third, and retried by id."""
    desk = make_desk(smtp=relay_config(relay))
    calls = {"n": 0}
    real = opening.confirm_receipt

    def broken(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        raise RuntimeError("template server on fire")

    monkeypatch.setattr(opening, "confirm_receipt", broken)
    first = accept(desk, make_mail(message_id="<bad@correo.example>"), source="pipe")
    assert first.status == "pending"
    process.process_pending(desk)
    process.process_pending(desk)
    accept(
        desk,
        make_mail(
            sender="otro@correo.example",
            subject="Otra solicitud",
            message_id="<good@correo.example>",
        ),
        source="pipe",
    )
    with desk.db.read_only() as session:
        bad = session.get(Inbound, first.inbound_id)
        assert bad is not None and bad.status == "quarantined" and bad.attempts == 3
        assert "template server on fire" in bad.reason
        assert session.scalar(select(func.count(Ticket.id))) == 0  # each try rolled back whole
    monkeypatch.setattr(opening, "confirm_receipt", real)
    assert process.process_pending(desk).total == 1  # the queue moved on
    assert process.requeue(desk, first.inbound_id)
    assert process.process_one(desk, first.inbound_id) == "processed"
    with desk.db.read_only() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 2
        assert session.scalar(select(func.count(Outbox.id))) == 2


def test_automatic_mail_is_capped_per_address_and_admin_told(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """A robot that rewrites its headers on every auto-reply still gets at most the cap per hour; an admin hears once."""
    desk = make_desk(
        smtp=relay_config(relay),
        desk={"autoreply_per_hour": 3},
        staff=[{"email": "admin@alameda.example", "name": "Admin", "role": "admin"}],
    )
    for i in range(6):
        accept(
            desk,
            make_mail(
                sender="crm@robot.example",
                subject=f"Caso CRM {i}",
                body=f"Nuevo caso {i}",
                message_id=f"<crm{i}@robot.example>",
            ),
            source="pipe",
        )
    rows = outbox_rows(desk)
    to_robot = [status for kind, rcpt, status in rows if rcpt == "crm@robot.example"]
    assert to_robot == ["pending"] * 3 + ["suppressed"] * 3
    assert [k for k, rcpt, _ in rows if rcpt == "admin@alameda.example"].count("rate_limit") == 1
    send_outbox(desk)
    relayed = [m.rcpt_tos[0] for m in relay.wait_for(len(rows) - 3)]
    assert relayed.count("crm@robot.example") == 3
    clock.advance(timedelta(hours=1, minutes=1))
    accept(
        desk,
        make_mail(
            sender="crm@robot.example", subject="Caso CRM 7", message_id="<crm7@robot.example>"
        ),
        source="pipe",
    )
    assert [s for _, rcpt, s in outbox_rows(desk) if rcpt == "crm@robot.example"][-1] == "pending"


def test_unreachable_database_is_a_temporary_failure(
    make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the mail cannot be stored, the pipe exits 75 and the listener answers 451, so the MTA keeps it."""
    desk = make_desk(listener={"listen": f"127.0.0.1:{free_port()}"})

    def unavailable(*args: object, **kwargs: object) -> None:
        raise TemporaryError("database unavailable: connection refused")

    monkeypatch.setattr("maildesk.inbound.accept.ingest.store", unavailable)
    code, accepted = ingest_stream(desk, io.BytesIO(make_mail()), envelope_from=None, recipients=[])
    assert (code, accepted) == (EX_TEMPFAIL, None)
    assert desk.config.listener is not None
    listener = Listener((desk,), desk.config.listener)
    listener.start()
    try:
        with (
            smtplib.SMTP("127.0.0.1", listener.port) as client,
            pytest.raises(smtplib.SMTPDataError) as info,
        ):
            client.sendmail("vecina@correo.example", [DESK], make_mail())
        assert info.value.smtp_code == 451
    finally:
        listener.stop()


def test_listener_refuses_other_recipients(make_desk: DeskFactory) -> None:
    """The listener is not an open relay: only the desk's addresses are accepted."""
    desk = make_desk(listener={"listen": f"127.0.0.1:{free_port()}"})
    assert desk.config.listener is not None
    listener = Listener((desk,), desk.config.listener)
    listener.start()
    try:
        with (
            smtplib.SMTP("127.0.0.1", listener.port) as client,
            pytest.raises(smtplib.SMTPRecipientsRefused),
        ):
            client.sendmail("vecina@correo.example", ["someone@elsewhere.example"], make_mail())
    finally:
        listener.stop()


def test_two_workers_share_the_queue_without_duplicates(make_desk: DeskFactory) -> None:
    """Two workers processing the same pending mails at once make each ticket and confirmation once."""
    import threading

    desk = make_desk()
    with desk.db.transaction() as session:
        from maildesk.inbound import store as ingest

        for i in range(30):
            ingest.store(
                session,
                desk_id=desk.desk_id,
                raw=make_mail(sender=f"r{i}@correo.example", message_id=f"<w{i}@x>"),
                source="pipe",
                now=desk.clock.now(),
            )
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            process.process_pending(desk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with desk.db.read_only() as session:
        numbers = sorted(session.scalars(select(Ticket.number)))
        assert numbers == list(range(1, 31))
        assert session.scalar(select(func.count(Outbox.id))) == 30
        assert (
            session.scalar(select(func.count(Inbound.id)).where(Inbound.status == "processed"))
            == 30
        )
