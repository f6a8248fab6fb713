"""A real headless Chromium (Debian's `chromium` package) driven by Playwright, for the session.

Missing Chromium or Playwright skips on a developer's machine and fails in CI
(`require_server`): a browser test must never pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

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
