"""Engine, sessions and the one `transaction()` every unit of work runs in.

The orchestrator opens the transaction; helpers take a session and never commit.
SQLite gets WAL and a busy timeout so the listener, the watcher and the outbox can
share one file; PostgreSQL gets row locks with SKIP LOCKED for several workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    PoolProxiedConnection,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from maildesk.errors import SchemaError, TemporaryError
from maildesk.migrations import HEAD
from maildesk.write_turns import WriteTurns

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
UPGRADE_HINT = "run `maildesk db upgrade`"
DEADLOCK_TRIES = 5
"""An upgrade that PostgreSQL chose as a deadlock's victim is run again this many times."""


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


@contextmanager
def foreign_keys_deferred(connection: Connection) -> Iterator[None]:
    """SQLite migrations with foreign keys off, as Alembic's batch mode needs.

    A batch change copies a table and drops the old one; with the rows of other tables
    pointing at it, that DROP fails on any desk with tickets. The pragma is ignored inside
    a transaction, so it is set on the connection before `begin`.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse (roll back) a SQLite migration that left a row pointing at nothing."""
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise SchemaError(f"the migration left rows pointing at nothing: {broken[:5]}")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_private_file(path: Path) -> None:
    """Create `path` empty, readable by its owner only, unless it exists.

    SQLite gives the -wal and -shm files it creates the database file's mode, so the
    residents' requests stay private in all three.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _alembic_config() -> AlembicConfig:
    # Imported here: only the commands that migrate or check the schema pay for Alembic.
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class _Held(threading.local):
    """This thread's kept connection (`Database.read_row`) and the engine's disposal it
    was opened after."""

    connection: PoolProxiedConnection | None = None
    generation = -1


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(read_only=True), expire_on_commit=False
        )
        self._turns = WriteTurns(enabled=self.engine.dialect.name == "sqlite")
        self._held = _Held()
        self._every_held: set[PoolProxiedConnection] = set()
        self._held_lock = threading.Lock()
        self._generation = 0
        event.listen(self.engine, "engine_disposed", self._close_held)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error.

        A database that cannot be reached becomes a `TemporaryError`, which the
        intakes turn into "try again later" (SMTP 451, exit 75). On SQLite the
        process's threads take their turns (`write_turns.py`).
        """
        with self._turns.turn():
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

    @contextmanager
    def one_worker(self, lock: int, part: int = 0) -> Iterator[bool]:
        """True for the one worker that runs a pass now, False for the others (skip it).

        A pass of several transactions (the scheduler's tick) needs a lock that outlives
        each of them: PostgreSQL's session advisory lock `(lock, part)`, on a connection
        kept for the pass and released at its end, or by the server when the worker dies.
        SQLite is one file on one machine whose write lock already serialises the writes;
        every worker runs, and the passes' own claims keep each effect single.
        """
        if not self.is_postgres:
            yield True
            return
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except OperationalError as exc:
            raise TemporaryError(f"database unavailable: {exc.orig}") from exc
        with connection:
            mine = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:lock, :part)"),
                    {"lock": lock, "part": part},
                ).scalar()
            )
            try:
                yield mine
            finally:
                if mine:
                    with contextlib.suppress(OperationalError):
                        connection.execute(
                            text("SELECT pg_advisory_unlock(:lock, :part)"),
                            {"lock": lock, "part": part},
                        )

    def upgrade(self) -> str:
        """Create or upgrade the schema to the newest migration; one line says what was done.

        A schema already at `HEAD` (every restart of the daemon) is left as it is without
        loading Alembic, whose modules would stay in the daemon's memory for nothing.
        """
        file = sqlite_file(self.url)
        if (file is None or file.exists()) and self.revision() == HEAD:
            return f"database schema up to date (revision {HEAD})"
        if file is not None:
            create_private_file(file)
        for attempt in range(1, DEADLOCK_TRIES + 1):
            try:
                before, after = self._migrate()
                break
            except OperationalError as exc:
                if attempt == DEADLOCK_TRIES or getattr(exc.orig, "sqlstate", "") != "40P01":
                    raise TemporaryError(f"database unavailable: {exc.orig}") from exc
                log.warning("the upgrade met a running worker's lock (a deadlock); again")
        if before == after:
            return f"database schema up to date (revision {after})"
        return f"database schema upgraded from revision {before or 'none'} to {after}"

    def _migrate(self) -> tuple[str | None, str | None]:
        """Run the migrations to HEAD in one transaction; the revisions before and after.

        Workers keep running meanwhile (a zero-downtime upgrade): a migration that locks a
        table a worker's transaction has read, after taking a lock that worker then waits
        for, is a deadlock, which PostgreSQL ends by rolling one side back. Everything is
        one transaction, so an upgrade rolled back is simply run again (`upgrade`).
        """
        from alembic import command

        cfg = _alembic_config()
        with (
            self.engine.connect() as connection,
            foreign_keys_deferred(connection),
            connection.begin(),
        ):
            if self.is_postgres:
                # Several workers may start at once; one migrates, the others wait.
                connection.execute(text("SELECT pg_advisory_xact_lock(7271)"))
            before = self._revision(connection)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
            after = self._revision(connection)
            _check_foreign_keys(connection)
        return before, after

    def check_schema(self) -> None:
        """Refuse to work on a missing database or on a schema older than this code.

        Only `init`, `db upgrade` and `run` migrate; every other command would otherwise
        fail later with an SQL error, or (SQLite) leave an empty database file behind.
        """
        file = sqlite_file(self.url)
        if file is not None and not file.exists():
            raise SchemaError(
                f"no maildesk database at {file}: run `maildesk init` (new desk) or"
                f" `maildesk db upgrade`"
            )
        try:
            with self.engine.execution_options(read_only=True).connect() as connection:
                current = self._revision(connection)
        except OperationalError as exc:
            raise TemporaryError(f"database unavailable: {exc.orig}") from exc
        if current is None:
            raise SchemaError(
                "no maildesk tables in the database: run `maildesk init` (new desk) or"
                " `maildesk db upgrade`"
            )
        if current != HEAD:
            raise SchemaError(
                f"the database schema is older than this maildesk: {UPGRADE_HINT}"
                f" (database at revision {current}, this maildesk needs {HEAD})"
            )

    def revision(self) -> str | None:
        """The schema's Alembic revision now; None on a database without maildesk's tables."""
        try:
            with self.engine.execution_options(read_only=True).connect() as connection:
                return self._revision(connection)
        except OperationalError as exc:
            raise TemporaryError(f"database unavailable: {exc.orig}") from exc

    @staticmethod
    def _revision(connection: Connection) -> str | None:
        """The schema's Alembic revision, read with plain SQL; None when there is none."""
        if not inspect(connection).has_table("alembic_version"):
            return None
        version: str | None = connection.execute(
            text("SELECT version_num FROM alembic_version")
        ).scalar()
        return version

    def read_row(self, sql: str, params: Any) -> Any:
        """The first row (or None) of one plain read in the driver's own SQL, run on every
        view of a page (`web.page_cache.lookup`).

        It runs on a connection this thread keeps, out of the pool and in autocommit, so no
        transaction wraps it: the pool's checkout and return (and on PostgreSQL the ping
        before each, a round trip) cost more than the query. A connection whose read
        failed is closed, and the thread's next read opens another; disposing of the
        engine (a restore, a test) closes them all.
        """
        held = self._held
        connection = held.connection if held.generation == self._generation else None
        if connection is None:
            connection = self._hold()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            row = cursor.fetchone()
            cursor.close()
        except BaseException:
            self._let_go(connection)
            raise
        return row

    def _hold(self) -> PoolProxiedConnection:
        connection = self.engine.raw_connection()
        driver = connection.driver_connection  # read before detach, which forgets it
        if getattr(driver, "autocommit", None) is False:  # psycopg; SQLite's already is
            driver.autocommit = True  # type: ignore[union-attr]
        connection.detach()  # out of the pool's count: the pool's size stays the others'
        with self._held_lock:
            self._every_held.add(connection)
            self._held.connection, self._held.generation = connection, self._generation
        return connection

    def _let_go(self, connection: PoolProxiedConnection) -> None:
        with self._held_lock:
            self._every_held.discard(connection)
            if self._held.connection is connection:
                self._held.connection = None
        with contextlib.suppress(Exception):
            connection.close()  # detached: closed for good

    def _close_held(self, _engine: Engine) -> None:
        with self._held_lock:
            held, self._every_held = self._every_held, set()
            self._generation += 1
        for connection in held:
            with contextlib.suppress(Exception):
                connection.close()  # detached: closed for good

    def ping(self) -> bool:
        try:
            with self.engine.execution_options(read_only=True).connect() as connection:
                connection.execute(select(1))
            return True
        except OperationalError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
