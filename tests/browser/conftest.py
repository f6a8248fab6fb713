"""A real headless Chromium (Debian's `chromium` package) driven by Playwright, for the session.

Missing Chromium or Playwright skips on a developer's machine and fails in CI
(`require_server`): a browser test must never pass by skipping.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from maildesk.context import Desk
from tests.conftest import DeskFactory
from tests.servers import Relay, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = os.environ.get("MAILDESK_CHROMIUM", "/usr/bin/chromium")
# No internet here: these flags keep Chromium from trying to reach Google's services.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole session; each test opens its own context."""
    from tests.servers import require_server  # imported late: pytest rewrites its asserts first

    if not os.access(CHROMIUM, os.X_OK):
        require_server("chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_server("playwright", "the Python package is missing (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def served_desk(make_desk: DeskFactory, relay: Relay, **sections: Any) -> Iterator[Desk]:
    """A Spanish desk with `sections`, its mail to the relay, its pages on waitress."""
    from maildesk.web.serve import WebServer

    port = free_port()
    desk = make_desk(
        smtp={"host": relay.host, "port": relay.port, "security": "none", "timeout_seconds": 5},
        web={"listen": f"127.0.0.1:{port}", **sections.pop("web", {})},
        desk={"base_url": f"http://127.0.0.1:{port}", "language": "es"},
        **sections,
    )
    server = WebServer((desk,))
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield desk
    finally:
        server.close()
        thread.join(timeout=5)
