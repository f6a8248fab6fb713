"""Engine, sessions and the one `transaction()` every unit of work runs in.

The orchestrator opens the transaction; helpers take a session and never commit.
SQLite gets WAL and a busy timeout so the listener, the watcher and the outbox can
share one file; PostgreSQL gets row locks with SKIP LOCKED for several workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from maildesk.errors import TemporaryError

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # SQLite's own lower() folds ASCII only; searches must find "Ñandú" by "ñandú".
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _sqlite_begin(connection: Connection) -> None:
    """Units of work take SQLite's write lock up front.

    The sqlite3 module would otherwise read outside any transaction and only lock
    at the first write, so two threads could both claim the same pending mail.
    Read-only sessions begin a plain (deferred) transaction and never wait.
    """
    deferred = connection.get_execution_options().get("read_only", False)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(read_only=True), expire_on_commit=False
        )

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error.

        A database that cannot be reached becomes a `TemporaryError`, which the
        intakes turn into "try again later" (SMTP 451, exit 75).
        """
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise TemporaryError(f"database unavailable: {exc.orig}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A session whose work is never committed (dry runs, views).

        Closing without commit discards any change; loaded objects stay readable.
        """
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.close()

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                if self.is_postgres:
                    # Several workers may start at once; one migrates, the others wait.
                    connection.execute(text("SELECT pg_advisory_xact_lock(7271)"))
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise TemporaryError(f"database unavailable: {exc.orig}") from exc

    def ping(self) -> bool:
        try:
            with self.engine.execution_options(read_only=True).connect() as connection:
                connection.execute(select(1))
            return True
        except OperationalError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
