"""The scheduler's tick over a controlled clock: digests and alerts reach the relay once per period."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default

import pytest

from maildesk import config as config_mod
from maildesk.clock import FixedClock
from maildesk.context import open_desk
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.reports import By, report_for
from maildesk.reports.summary import summary
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


def test_monthly_digest_carries_the_reports_figures_and_charts(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """On 1 December at 08:00 the manager's monthly digest says November's report figures and shows its three charts inline."""
    clock.current = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)
    desk = make_desk(
        smtp={"host": relay.host, "port": relay.port, "security": "none"},
        staff=STAFF,
        escalation={"digest_daily": "", "digest_weekly": ""},
    )
    clock.current = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    accept(desk, make_mail(subject="URGENTE: fuga de agua", message_id="<a@x>"), source="pipe")
    clock.current = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
    accept(
        desk,
        make_mail(sender="b@correo.example", subject="Año nuevo: ñandú", message_id="<b@x>"),
        source="pipe",
    )
    clock.current = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    tick(desk)
    send_outbox(desk)
    (mail,) = [p for _, p in received(relay, 0) if p["Subject"].startswith("Resumen mensual")]
    assert (
        str(mail["Subject"])
        == "Resumen mensual de la mesa de ayuda: 2 nuevas, 0 cerradas, 2 atrasadas"
    )
    report = summary(report_for(desk, date(2026, 11, 1), date(2026, 11, 30), By.WEEK))
    plain = mail.get_body(("plain",))
    assert plain is not None
    text = str(plain.get_content()).replace("\r\n", "\n")
    assert f"Nuevas: {report.opened}" in text and "del 2026-11-01 al 2026-11-30" in text
    assert "Pendientes por estado:\n  recibido: 2" in text and "Año nuevo: ñandú" in text
    assert "volume.png" in text and "compliance.png" in text and "backlog.png" in text
    html_part = mail.get_body(("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    images = {
        str(p["Content-ID"]).strip("<>"): p.get_content()
        for p in mail.walk()
        if p.get_content_type() == "image/png"
    }
    assert sorted(images) == ["backlog@maildesk", "compliance@maildesk", "volume@maildesk"]
    assert all(f'src="cid:{cid}"' in html for cid in images)
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    clock.advance(timedelta(hours=2))
    tick(desk)
    send_outbox(desk)
    assert sum(p["Subject"].startswith("Resumen mensual") for _, p in received(relay, 0)) == 1
