"""A command imports only what it uses: `--help` and `ticket list` never load Alembic, Flask or the charts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    init = subprocess.run(
        [sys.executable, "-m", "maildesk", "init", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert init.returncode == 0, init.stderr
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
