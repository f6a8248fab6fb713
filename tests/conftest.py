"""Shared fixtures: real servers (tests/servers.py) and both databases.

Every test that takes `database_url` (directly or through `make_desk`) runs twice:
on a SQLite file and on PostgreSQL (a database of its own on 127.0.0.1:5432,
emptied before each test). In CI a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlalchemy import create_engine, text

from maildesk import config as config_mod
from maildesk.clock import FixedClock
from maildesk.context import Desk, open_desk
from maildesk.models import Base

pytest_plugins = ["tests.servers"]

PG_ADMIN_URL = os.environ.get(
    "MAILDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET = "test-secret-key-0123456789-abcdefghijkl"
START = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `long` first, then the rest by their number of tests, most first.

    `make test` hands whole files to its workers in this order (`--dist loadfile
    --no-loadscope-reorder`). xdist's own order, by the number of tests alone, starts a
    two-minute file of one or two tests last, and the run then ends on it alone.
    """
    count = Counter(item.path for item in items)
    long = {item.path for item in items if item.get_closest_marker("long")}
    items.sort(key=lambda item: (item.path not in long, -count[item.path]))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test run's own, dropped at the end."""
    from tests.servers import require_server  # imported late: pytest rewrites its asserts first

    name = f"maildesk_test_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    except Exception as exc:  # noqa: BLE001 - any failure means no PostgreSQL here
        admin.dispose()
        require_server("postgresql", f"cannot create a database at {PG_ADMIN_URL}: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    """Every table of the models emptied and every sequence restarted, as a new desk has them.

    DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE gives each of the tables
    and their indexes new files in a commit that waits for them (0.5-1 s a test on a busy
    machine, against some 0.05-0.1 s for the DELETEs).
    """
    engine = create_engine(url)
    with engine.begin() as conn:
        present = {
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        }
        for table in reversed(Base.metadata.sorted_tables):  # who refers to a row goes first
            if table.name in present:
                conn.execute(table.delete())
        conn.execute(
            text(
                "SELECT setval(format('%I', sequencename)::regclass, start_value, false)"
                " FROM pg_sequences WHERE schemaname = 'public'"
            )
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'maildesk.db'}"
    url: str = request.getfixturevalue("pg_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


DeskFactory = Callable[..., Desk]


@pytest.fixture
def make_desk(tmp_path: Path, database_url: str, clock: FixedClock) -> Iterator[DeskFactory]:
    """Write a real maildesk.toml with the given sections and open the desk on it."""
    opened: list[Desk] = []

    def factory(**sections: Any) -> Desk:
        data: dict[str, Any] = {
            "desk": {
                "name": "Edificio Alameda — Soporte",
                "address": "soporte@alameda.example",
                "base_url": "https://soporte.alameda.example",
                "database": database_url,
                "data_dir": str(tmp_path / "data"),
                "secret_key": SECRET,
                **sections.pop("desk", {}),
            },
            **sections,
        }
        path = tmp_path / "maildesk.toml"
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
        desk = open_desk(config_mod.load(path), clock=clock, upgrade=True)
        opened.append(desk)
        return desk

    yield factory
    for desk in opened:
        desk.db.dispose()


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    return make_desk()
