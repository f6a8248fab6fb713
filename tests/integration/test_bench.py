"""The history generator fills a desk that `maildesk report` reads back.

Every other benchmark is a README command: the README's story
(`tests/integration/test_readme.py`) runs each once in a small form, and its tests of
their figures are there, on those runs, so no benchmark runs twice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MAILDESK_TEST_PG": PG_ADMIN_URL},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_generate_history_fills_a_desk_with_a_year(tmp_path: Path) -> None:
    """`generate_history.py` writes a desk whose `maildesk report` counts the tickets it generated."""
    out = run(
        "generate_history.py",
        "--tickets",
        "40",
        "--messages",
        "120",
        "--dir",
        str(tmp_path),
    )
    assert re.search(r"tickets: 40, messages: 120, events: \d+, database: sqlite", out)
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "maildesk",
            "--config",
            str(tmp_path / "maildesk.toml"),
            "report",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--by",
            "month",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    volume = json.loads(report.stdout)["tables"]["volume_by_period"]
    assert sum(row["opened"] for row in volume) == 40
