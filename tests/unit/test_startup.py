"""A command imports only what it uses: `--help` and `ticket list` never load Alembic, Flask or the charts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.daemons import init_folder

# Each is a second or a good part of one at start-up; only the commands that use them pay.
HEAVY = (
    "alembic",
    "flask",
    "waitress",
    "matplotlib",
    "openpyxl",
    "fpdf",
    "mailparser",
    "nh3",
    "html2text",
    "jinja2",
    "imapclient",
    "aiosmtpd",
)


def loaded_after(code: str, cwd: Path) -> set[str]:
    """The top-level packages a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_command_loads_no_heavy_library(tmp_path: Path) -> None:
    """`import maildesk.cli` (all `maildesk --help` needs) loads none of them, nor SQLAlchemy."""
    loaded = loaded_after("import maildesk.cli", tmp_path)
    assert "maildesk" in loaded
    assert loaded.isdisjoint({*HEAVY, "sqlalchemy"}), sorted(loaded & {*HEAVY, "sqlalchemy"})


def test_ticket_list_checks_the_schema_without_alembic(tmp_path: Path) -> None:
    """`ticket list` on a desk compares the schema revision with the one it knows, Alembic unloaded."""
    init_folder(tmp_path)
    loaded = loaded_after(
        "import contextlib, io\n"
        "from maildesk.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['ticket', 'list']) == 0\n"
        "assert 'no tickets' in out.getvalue() or out.getvalue().strip() != '', out.getvalue()",
        tmp_path,
    )
    assert "sqlalchemy" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


# Reading mail needs these; the daemon reads in its child process, never in its own
# (html2text and nh3 it keeps: quoting a staff reply's HTML uses them, maildesk.mime.html).
PARSING = ("mailparser", "tnefparse")


def test_the_idle_daemon_loads_no_mail_parser_and_no_alembic(tmp_path: Path) -> None:
    """Everything `maildesk run` imports to serve (its parts and the status page) leaves the
    mail parsers to the reader child, Alembic to a schema that needs migrating, and the
    stemmers of every language to the first knowledge-base search."""
    loaded = loaded_after("import maildesk.daemon, maildesk.web.serve", tmp_path)
    assert {"sqlalchemy", "flask", "imapclient", "aiosmtpd"} <= loaded
    later = {*PARSING, "alembic", "snowballstemmer"}
    assert loaded.isdisjoint(later), sorted(loaded & later)


def test_the_reader_child_loads_only_what_parsing_needs(tmp_path: Path) -> None:
    """The child (`python -m maildesk.inbound.reader_process`) holds the parsers, not the
    database, the web or the configuration's loader."""
    loaded = loaded_after(
        "from maildesk.inbound import reader_process\nreader_process._parse_mail()", tmp_path
    )
    assert {*PARSING, "html2text", "nh3"} <= loaded
    unwanted = {*HEAVY, "sqlalchemy"} - {*PARSING, "html2text", "nh3"}
    assert loaded.isdisjoint(unwanted), sorted(loaded & unwanted)
    modules = loaded_modules("from maildesk.inbound import reader_process", tmp_path)
    assert "maildesk.config" not in modules
    assert "maildesk.inbound.parse" not in modules  # the daemon's side of the pipe


def loaded_modules(code: str, cwd: Path) -> set[str]:
    """Every module a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_a_schema_at_head_is_not_migrated_with_alembic(tmp_path: Path, database_url: str) -> None:
    """`run` on a database already at HEAD (every restart) says so without loading Alembic;
    the first start, on an empty database, migrates with it."""
    from maildesk.db import Database
    from maildesk.migrations import HEAD

    first = Database(database_url)
    try:
        first.upgrade()  # creates the schema (on a PostgreSQL shared by the run, maybe did)
        assert first.revision() == HEAD
    finally:
        first.dispose()
    modules = loaded_modules(
        "from maildesk.db import Database\n"
        f"said = Database({database_url!r}).upgrade()\n"
        f"assert said == 'database schema up to date (revision {HEAD})', said",
        tmp_path,
    )
    assert "maildesk.db" in modules
    assert not any(m.split(".")[0] == "alembic" for m in modules)
