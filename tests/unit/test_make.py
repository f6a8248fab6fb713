"""The two commands install what they need and no more."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def planned(target: str, venv: Path) -> str:
    """What `make TARGET` would run in a fresh venv (make -n runs nothing)."""
    done = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_installs_the_runtime_only(tmp_path: Path) -> None:
    """`make run` installs maildesk without the test extras (playwright, mypy, …)."""
    plan = planned("run", tmp_path / "venv")
    assert "pip install" in plan and "-e ." in plan
    assert "[test]" not in plan


def test_make_test_adds_the_test_extras(tmp_path: Path) -> None:
    """`make test` installs the runtime and then the test extras."""
    plan = planned("test", tmp_path / "venv")
    assert "'.[test]'" in plan and "pytest" in plan
