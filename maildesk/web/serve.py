"""Serve every desk's pages with waitress (a production WSGI server) inside `maildesk run`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from waitress.server import create_server

from maildesk.config import parse_endpoint
from maildesk.context import Desk
from maildesk.errors import ConfigError
from maildesk.web.hosts import desk_hosts

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, desks: Sequence[Desk]) -> None:
        desk = desks[0]  # [web] is the install's: one listening address for every desk
        host, port = parse_endpoint(desk.config.web.listen, key="web.listen")
        try:
            # waitress would drop X-Forwarded-For and Forwarded before the app saw them:
            # the app decides (ProxyFix for `web.trusted_proxies`, `/metrics` refusing
            # a request relayed by a proxy it does not trust).
            self.server = create_server(
                desk_hosts(desks),
                host=host,
                port=port,
                threads=4,
                ident="maildesk",
                # waitress would drop X-Forwarded-* before the app sees them; the app
                # decides: ProxyFix believes them behind `web.trusted_proxies`, and /metrics
                # refuses a forwarded request otherwise (tests/deploy/test_nginx.py).
                clear_untrusted_proxy_headers=False,
            )
        except OSError as exc:
            raise ConfigError(
                desk.config.source,
                "web.listen",
                "an address free to listen on",
                f"{desk.config.web.listen} ({exc.strerror})",
            ) from exc
        log.info("status page on http://%s:%s/", host, self.port)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def run(self) -> None:
        self.server.run()

    def close(self) -> None:
        self.server.close()
