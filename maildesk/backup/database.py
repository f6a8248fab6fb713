"""The desk's database copied out of and into a file, and the one step that swaps it in.

SQLite is copied with its online backup API, consistent while the daemon writes. Into
the live file it is copied the same way: SQLite commits the whole copy at once, so a
crash leaves the old database. PostgreSQL is dumped with `pg_dump` (custom format) and
restored with `pg_restore` into a database of its own beside the desk's; two renames in
one transaction then swap it in, so a crash before that commit leaves the old desk.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from psycopg.conninfo import make_conninfo
from sqlalchemy import URL, make_url, text
from sqlalchemy.exc import OperationalError

from maildesk.db import MIGRATIONS, Database
from maildesk.errors import BackupError

CLIENT_HINT = "install the PostgreSQL client tools (Debian: apt-get install postgresql-client)"
# A stale staging database of an interrupted restore has this suffix; the next one drops it.
STAGING_SUFFIX = "__restoring"
OLD_SUFFIX = "__replaced"


def revision_age(revision: str) -> str:
    """An archive's schema against this maildesk's: "current", "older" (upgraded on
    restore) or "newer" (unknown here: refused)."""
    script = ScriptDirectory(str(MIGRATIONS))
    if revision in script.get_heads():
        return "current"
    try:
        known = script.get_revision(revision)
    except (RevisionError, CommandError):
        known = None
    return "older" if known is not None else "newer"


# --- SQLite ----------------------------------------------------------------------------


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database page by page with SQLite's online backup API.

    Read side: a consistent snapshot whatever others write meanwhile. Write side: the
    whole copy is one transaction on `target` (waiting up to 30 s for its writers), so a
    crash mid-copy leaves `target` as it was. The backup reads the live file with it;
    the restore swaps the staged copy into the live file with it.
    """
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


# --- PostgreSQL --------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """`pg_dump` or `pg_restore` from PATH, else the newest under /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found

    def major(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=major)
    if candidates:
        return candidates[-1]
    raise BackupError(f"{name} is not in PATH nor in /usr/lib/postgresql/*/bin: {CLIENT_HINT}")


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries it
    (a password on a command line is visible to every user of the machine)."""
    params = {str(k): str(v) for k, v in url.query.items()}
    conninfo = make_conninfo(
        "",
        host=url.host or "",
        port=str(url.port or ""),
        user=url.username or "",
        dbname=url.database or "",
        **params,
    )
    env = {"PGPASSWORD": url.password} if url.password else {}
    return conninfo, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def dump_postgres(url: str, target: Path) -> None:
    conninfo, env = _libpq(make_url(url))
    _run(
        [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         "--file", str(target), "--dbname", conninfo],
        env,
        "pg_dump",
    )  # fmt: skip


def _admin(url: URL) -> Database:
    """The server's maintenance database, for creating, renaming and dropping databases."""
    return Database(url.set(database="postgres").render_as_string(hide_password=False))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def postgres_exists(url: str) -> bool:
    """Whether the desk's database exists yet (a new machine's may not: the restore makes it)."""
    name = make_url(url).database or ""
    admin = _admin(make_url(url))
    try:
        with admin.engine.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            return found.first() is not None
    except OperationalError as exc:
        raise BackupError(f"cannot reach the PostgreSQL server: {exc.orig}") from exc
    finally:
        admin.dispose()


def staging_url(url: str) -> str:
    live = make_url(url)
    name = (live.database or "")[: 63 - len(STAGING_SUFFIX)] + STAGING_SUFFIX
    return live.set(database=name).render_as_string(hide_password=False)


def stage_postgres(url: str, dump: Path) -> str:
    """`pg_restore` the dump into a fresh database beside the desk's; its URL."""
    staged = staging_url(url)
    name = make_url(staged).database or ""
    admin = _admin(make_url(url))
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))
            conn.execute(
                text(f"CREATE DATABASE {_quoted(name)} ENCODING 'UTF8' TEMPLATE template0")
            )
    except OperationalError as exc:
        raise BackupError(f"cannot create the staging database {name}: {exc.orig}") from exc
    finally:
        admin.dispose()
    conninfo, env = _libpq(make_url(staged))
    _run(
        [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "--dbname", conninfo, str(dump)],
        env,
        "pg_restore",
    )  # fmt: skip
    return staged


def swap_postgres(url: str, staged: str) -> None:
    """Rename the desk's database away and the staged one into its name, in one commit.

    PostgreSQL renames only databases nobody is connected to: a running maildesk must
    be stopped first, and the error says so.
    """
    live = make_url(url).database or ""
    old = live[: 63 - len(OLD_SUFFIX)] + OLD_SUFFIX
    staged_name = make_url(staged).database or ""
    admin = _admin(make_url(url))
    autocommit = admin.engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with autocommit.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": live}
            ).first()
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(old)} WITH (FORCE)"))
        with admin.engine.begin() as conn:
            if exists:
                conn.execute(text(f"ALTER DATABASE {_quoted(live)} RENAME TO {_quoted(old)}"))
            conn.execute(text(f"ALTER DATABASE {_quoted(staged_name)} RENAME TO {_quoted(live)}"))
        with autocommit.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(old)} WITH (FORCE)"))
    except OperationalError as exc:
        raise BackupError(
            f"cannot swap the restored database in: {exc.orig} (stop every maildesk process"
            " using the database first)"
        ) from exc
    finally:
        admin.dispose()


def drop_staging(url: str) -> None:
    """Drop what an interrupted or refused restore staged; nothing when there is none."""
    name = make_url(staging_url(url)).database or ""
    admin = _admin(make_url(url))
    try:
        with (
            contextlib.suppress(OperationalError),
            admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
        ):
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))
    finally:
        admin.dispose()
