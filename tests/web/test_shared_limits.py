"""Rate limits shared by several web workers: one budget in Redis, whichever worker answers."""

from __future__ import annotations

import secrets
import socket

import pytest

from maildesk.web import create_app
from tests.conftest import DeskFactory
from tests.servers import require_server
from tests.web.test_lookup_hardening import _ask

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

REDIS = ("127.0.0.1", 6379)


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis (a database number of the tests' own); skipped only off CI."""
    try:
        socket.create_connection(REDIS, timeout=2).close()
    except OSError as exc:
        require_server("redis", f"nothing answers at {REDIS[0]}:{REDIS[1]} ({exc})")
    return f"redis://{REDIS[0]}:{REDIS[1]}/3"


def test_two_web_workers_on_one_redis_enforce_one_budget(
    make_desk: DeskFactory, redis_url: str
) -> None:
    """Two apps, each with its own Limiter, count one client's lookups together in Redis."""
    slug = f"t{secrets.token_hex(6)}"  # keys of this test's own in the shared Redis
    desk = make_desk(
        desk={"slug": slug},
        web={"rate_limit_storage": redis_url, "lookup_per_client": "3 per hour"},
    )
    first, second = create_app(desk).test_client(), create_app(desk).test_client()
    answers = [
        _ask(client, "1", f"v{i}@x.example")
        for i, client in enumerate((first, second, first, second, first))
    ]
    assert answers == [200, 200, 200, 429, 429]


def test_in_memory_each_worker_counts_alone(make_desk: DeskFactory) -> None:
    """The default keeps counts in each process: what the shared store is for."""
    desk = make_desk(web={"lookup_per_client": "1 per hour"})
    first, second = create_app(desk).test_client(), create_app(desk).test_client()
    assert [_ask(first, "1", "a@x.example"), _ask(second, "1", "b@x.example")] == [200, 200]
