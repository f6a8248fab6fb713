"""`/metrics` in Prometheus text format, for the addresses of `web.metrics_allow` only.

The desk's figures come from the database at each scrape (`maildesk.metrics`), so
every web worker answers the same; the page latency histogram is this process's own.
Residents' counts are private-ish: anyone not allowed gets the same 404 as an unknown
page. Behind a proxy that is not trusted (`web.trusted_proxies = 0`) the client's
address is unknown, so a request carrying `X-Forwarded-For` or `Forwarded` is refused
even from an allowed address (the proxy's own).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from contextlib import ExitStack

from flask import Blueprint, Flask, Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from maildesk import logs
from maildesk.context import Desk
from maildesk.inbound.sources.imap import mailbox_key
from maildesk.metrics import DeskCollector
from maildesk.web import desk_of_app

bp = Blueprint("metrics", __name__)

# One per process, shared by the apps of every desk it serves (not registered globally:
# each app's registry adds it, so tests may build many apps in one process).
LATENCY = Histogram(
    "maildesk_http_request_duration_seconds",
    "Time to answer a page, by desk and Flask endpoint (this web process only)",
    ["desk", "endpoint"],
    registry=None,
)


def allowed(address: str | None, allow: Sequence[str]) -> bool:
    """Whether `address` is in one of the `allow` addresses or networks."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(entry, strict=False) for entry in allow)


def registry_for(desk: Desk) -> CollectorRegistry:
    """The install's figures from the database and this process's latencies."""
    mailboxes = {
        mailbox_key(config.imap): (config.desk.slug, config.imap.folder)
        for config in desk.install_configs()
        if config.imap is not None and config.imap.host
    }
    registry = CollectorRegistry()
    registry.register(DeskCollector(desk.db, desk.clock, mailboxes))
    registry.register(LATENCY)
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    desk = desk_of_app()
    web = desk.config.web
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    if (forwarded and not web.trusted_proxies) or not allowed(
        request.remote_addr, web.metrics_allow
    ):
        abort(404)
    body = generate_latest(registry_for(desk))
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def instrument(app: Flask, desk: Desk) -> None:
    """Time every request of `app` into `LATENCY` (errors and 404s included), and let the
    lines it logs name the ticket it acted on (`logs.about`, filled by the ticket actions)."""

    @app.before_request
    def started() -> None:
        g.maildesk_started = time.perf_counter()
        about = ExitStack()
        about.enter_context(logs.about())
        g.maildesk_about = about

    @app.teardown_request
    def finished(_error: BaseException | None) -> None:
        began = g.pop("maildesk_started", None)
        if began is not None:
            LATENCY.labels(desk.slug, request.endpoint or "none").observe(
                time.perf_counter() - began
            )
        about = g.pop("maildesk_about", None)
        if about is not None:
            about.close()
