"""`/metrics` over real HTTP after real mail: the desk's figures from the database, the
page latencies of this process, and only for the addresses of `web.metrics_allow`."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from maildesk import config as config_mod
from maildesk.clock import FixedClock
from maildesk.context import Desk, open_install
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.inbound.sources.imap import ImapWatcher, mailbox_key
from maildesk.inbound.store import DatabaseMailboxStore
from maildesk.metrics import DeskCollector
from maildesk.sla.escalate import run_pass
from maildesk.web.metrics import registry_for
from tests.browser.conftest import served_desk
from tests.conftest import SECRET, DeskFactory
from tests.desks import NORTE, SUR, install_toml
from tests.mails import make_bounce, make_mail
from tests.servers import CuttableProxy, ImapUser, Relay
from tests.web.conftest import OTHER, STAFF, open_ticket

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

IMAP = {"host": "imap.alameda.example", "username": "soporte", "password": "x", "folder": "INBOX"}


def get(desk: Desk, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    url = desk.config.desk.base_url + path
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def scrape(desk: Desk) -> Samples:
    status, text = get(desk, "/metrics")
    assert status == 200, text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_count_real_mail_outbox_escalations_and_imap(
    make_desk: DeskFactory, relay: Relay, clock: FixedClock
) -> None:
    """Two requests, a stray bounce, the outbox before and after sending, a day of SLA,
    and an IMAP watcher's pass and reconnections all show in the scraped figures."""
    with served_desk(make_desk, relay, staff=STAFF, imap=IMAP) as desk:
        first = open_ticket(desk)
        open_ticket(desk, sender=OTHER, subject="Ruido en el depto 301")
        accept(
            desk,
            make_bounce(to="soporte@alameda.example", original_headers="Message-ID: <x@y>"),
            source="pipe",
        )
        assert desk.config.imap is not None
        store = DatabaseMailboxStore(desk.db, desk.desk_id, desk.clock, desk.blobs)
        store.store(mailbox_key(desk.config.imap), 7, [], 0, backfill=False)
        store.count_reconnect(mailbox_key(desk.config.imap))
        store.count_reconnect(mailbox_key(desk.config.imap))
        clock.advance(timedelta(minutes=10))

        samples = scrape(desk)
        assert value(samples, "maildesk_database_up") == 1
        assert value(samples, "maildesk_tickets_open", desk="default", state="recibido") == 2
        assert value(samples, "maildesk_mails", desk="default", status="processed") == 2
        assert value(samples, "maildesk_mails", desk="default", status="ignored") == 1
        pending = value(samples, "maildesk_outbox_pending", desk="default")
        assert pending >= 2  # confirmations and the team's notices
        assert value(samples, "maildesk_outbox_oldest_pending_age_seconds", desk="default") == 600
        labels = {"desk": "default", "folder": "INBOX"}
        assert value(samples, "maildesk_imap_last_pass_age_seconds", **labels) == 600
        assert value(samples, "maildesk_imap_reconnects_total", **labels) == 2

        send_outbox(desk)
        assert len(relay.wait_for(int(pending))) == pending
        clock.advance(timedelta(days=2))
        run_pass(desk)
        get(desk, f"/t/{first.token}")

        samples = scrape(desk)
        assert value(samples, "maildesk_outbox_pending", desk="default") > 0  # escalation mail
        assert value(samples, "maildesk_tickets_overdue", desk="default") == 2
        breaches = "maildesk_sla_breaches_total"
        assert value(samples, breaches, desk="default", target="first_response") == 2
        assert value(samples, "maildesk_escalations_total", desk="default", level="supervisor") >= 2
        assert value(samples, "maildesk_imap_last_pass_age_seconds", **labels) == 600 + 2 * 86400
        latency = "maildesk_http_request_duration_seconds_count"
        assert value(samples, latency, desk="default", endpoint="status.ticket") >= 1


def test_metrics_only_for_allowed_addresses(make_desk: DeskFactory, relay: Relay) -> None:
    """An address outside `web.metrics_allow`, or a request through an untrusted proxy,
    gets the same 404 as an unknown page; the allowed loopback gets the figures."""
    with served_desk(make_desk, relay, web={"metrics_allow": ["10.0.0.0/8"]}) as desk:
        accept(desk, make_mail(), source="pipe")
        status, _ = get(desk, "/metrics")
        assert status == 404
    with served_desk(make_desk, relay) as desk:
        status, _ = get(desk, "/metrics", {"X-Forwarded-For": "127.0.0.1"})
        assert status == 404
        status, text = get(desk, "/metrics")
        assert status == 200 and "maildesk_tickets_open" in text


@pytest.mark.parametrize(
    ("address", "allow", "expected"),
    [
        ("127.0.0.1", ["127.0.0.1", "::1"], True),
        ("::1", ["127.0.0.1", "::1"], True),
        ("::ffff:127.0.0.1", ["127.0.0.1"], True),
        ("10.1.2.3", ["10.0.0.0/8"], True),
        ("192.168.1.5", ["127.0.0.1", "10.0.0.0/8"], False),
        ("", ["127.0.0.1"], False),
        (None, ["127.0.0.1"], False),
    ],
)
def test_allowed_addresses(address: str | None, allow: list[str], expected: bool) -> None:
    """Addresses and networks match as IP addresses, an IPv4-mapped IPv6 one included."""
    from maildesk.web.metrics import allowed

    assert allowed(address, allow) is expected


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_watcher_that_loses_its_connection_counts_the_reconnection(
    make_desk: DeskFactory, imap_user: ImapUser, clock: FixedClock
) -> None:
    """A real Dovecot behind a proxy that cuts the connection: the watcher's next pass
    connects again, and the count in the database (what `/metrics` reads) says 1."""
    desk = make_desk()
    proxy = CuttableProxy(imap_user.host, imap_user.port)
    store = DatabaseMailboxStore(desk.db, desk.desk_id, desk.clock, desk.blobs)
    config = imap_user.config(port=proxy.port, timeout_seconds=5)
    watcher = ImapWatcher(config, store, now=desk.clock.now, on_reconnect=store.count_reconnect)
    try:
        assert watcher.poll_once() == 0
        assert watcher.poll_once() == 0  # the same connection: no reconnection
        proxy.cut()
        with pytest.raises(Exception):  # noqa: B017 - imaplib's abort or a socket error
            watcher.poll_once()
        assert watcher.poll_once() == 0
    finally:
        watcher.close()
        proxy.close()
    collector = DeskCollector(desk.db, clock, {mailbox_key(config): ("default", "INBOX")})
    found = {
        s.name: s.value
        for family in collector.collect()
        for s in family.samples
        if s.name.startswith("maildesk_imap_")
    }
    assert found == {
        "maildesk_imap_reconnects_total": 1.0,
        "maildesk_imap_last_pass_age_seconds": 0.0,
    }


def test_two_buildings_are_told_apart(tmp_path: Path, database_url: str, clock: FixedClock) -> None:
    """Two desks over one database: each desk's tickets, mail and escalations under its
    own slug, from any desk's /metrics (here through the collector of the first)."""
    install = config_mod.load_install(install_toml(tmp_path, database_url, SECRET))
    norte, sur = open_install(install, upgrade=True, clock=clock)
    try:
        accept(norte, make_mail(to=NORTE), source="pipe", envelope_to=[NORTE])
        accept(sur, make_mail(to=SUR), source="pipe", envelope_to=[SUR])
        accept(sur, make_mail(to=SUR, subject="Ruido"), source="pipe", envelope_to=[SUR])
        clock.advance(timedelta(days=2))
        run_pass(norte)
        run_pass(sur)
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in registry_for(norte).collect()
            for s in family.samples
        }
    finally:
        norte.db.dispose()
    for slug, tickets in (("norte", 1), ("sur", 2)):
        assert value(samples, "maildesk_tickets_open", desk=slug, state="recibido") == tickets
        assert value(samples, "maildesk_mails", desk=slug, status="processed") == tickets
        breaches = "maildesk_sla_breaches_total"
        assert value(samples, breaches, desk=slug, target="first_response") == tickets
