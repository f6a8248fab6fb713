"""The scheduler's tick over a controlled clock: digests and alerts reach the relay once per period."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default

import pytest

from maildesk import config as config_mod
from maildesk.clock import FixedClock
from maildesk.context import open_desk
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.sla.jobs import tick
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import Relay

pytestmark = pytest.mark.integration

STAFF = [
    {"email": "ana@alameda.example", "name": "Ana", "role": "agent", "teams": ["mantenimiento"]},
    {"email": "gerente@alameda.example", "name": "Gerardo", "role": "manager"},
]


def received(relay: Relay, start: int) -> list[tuple[str, EmailMessage]]:
    out = []
    for m in relay.messages[start:]:
        parsed = email.message_from_bytes(m.raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        out.append((m.rcpt_tos[0], parsed))
    return out


def test_digest_and_alerts_once_per_day(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """At 08:00 local the manager gets the digest and Ana her overdue alert; later ticks and a restart send nothing more."""
    clock.current = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # Sunday, noon in Santiago
    desk = make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"}, staff=STAFF)
    accept(desk, make_mail(subject="URGENTE: fuga de agua", message_id="<a@x>"), source="pipe")
    accept(
        desk,
        make_mail(sender="b@correo.example", subject="Gotera leve", message_id="<b@x>"),
        source="pipe",
    )
    clock.current = datetime(2026, 11, 23, 10, 59, tzinfo=UTC)
    tick(desk)
    send_outbox(desk)
    before = len(relay.messages)
    assert not any(p["Subject"].startswith(("Resumen", "Alertas")) for _, p in received(relay, 0))
    clock.advance(timedelta(minutes=1))
    tick(desk)
    send_outbox(desk)
    mails = received(relay, before)
    digests = [(to, p) for to, p in mails if p["Subject"].startswith("Resumen diario")]
    weekly = [(to, p) for to, p in mails if p["Subject"].startswith("Resumen semanal")]
    alerts = [(to, p) for to, p in mails if p["Subject"].startswith("Alertas")]
    assert [to for to, _ in digests] == ["gerente@alameda.example"]
    assert [to for to, _ in weekly] == ["gerente@alameda.example"]
    assert [to for to, _ in alerts] == ["ana@alameda.example"]
    body = digests[0][1].get_body(("plain",))
    assert body is not None
    text = str(body.get_content())
    assert "Nuevas: 2" in text and "URGENTE: fuga de agua" in text
    alert_body = alerts[0][1].get_body(("plain",))
    assert alert_body is not None
    alert_text = str(alert_body.get_content())
    assert alert_text.index("#1 URGENTE") < alert_text.index("#2 Gotera")
    after = len(relay.messages)
    clock.advance(timedelta(hours=3))
    tick(desk)
    restarted = open_desk(
        config_mod.load(desk.config.base_dir / "maildesk.toml"), clock=clock, upgrade=True
    )
    tick(restarted)
    send_outbox(desk)
    assert not any(
        p["Subject"].startswith(("Resumen", "Alertas")) for _, p in received(relay, after)
    )
    restarted.db.dispose()


def test_first_start_sends_no_digest_of_periods_before_the_desk(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """A desk first started on Monday after 08:00 sends no digest or alerts that day; Tuesday's daily digest starts with the desk."""
    clock.current = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # Monday 10:00 in Santiago
    desk = make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"}, staff=STAFF)
    accept(desk, make_mail(subject="URGENTE: fuga de agua", message_id="<a@x>"), source="pipe")
    tick(desk)
    clock.advance(timedelta(hours=5))
    tick(desk)
    send_outbox(desk)
    assert not any(p["Subject"].startswith(("Resumen", "Alertas")) for _, p in received(relay, 0))
    before = len(relay.messages)
    clock.current = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # Tuesday 08:00
    tick(desk)
    send_outbox(desk)
    subjects = sorted(
        p["Subject"].split(":")[0]
        for _, p in received(relay, before)
        if p["Subject"].startswith(("Resumen", "Alertas"))
    )
    assert subjects == ["Alertas", "Resumen diario de la mesa de ayuda"]


def test_digest_subjects_have_no_leading_space(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """The weekly and daily digests' subjects read back exactly as written, with no space before them."""
    clock.current = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    desk = make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"}, staff=STAFF)
    clock.current = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    tick(desk)
    send_outbox(desk)
    subjects = [
        str(email.message_from_bytes(m.raw, policy=default)["Subject"]) for m in relay.messages
    ]
    assert sorted(subjects) == [
        "Resumen diario de la mesa de ayuda: 0 nuevas, 0 cerradas, 0 atrasadas",
        "Resumen semanal de la mesa de ayuda: 0 nuevas, 0 cerradas, 0 atrasadas",
    ]
