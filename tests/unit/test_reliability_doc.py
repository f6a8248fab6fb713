"""docs/reliability.md cannot rot: every test it names exists, and it keeps its sections."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
NAMED = re.compile(r"`((?:unit|integration|web|browser|deploy)/test_\w+\.py)(?:::(test_\w+))?`")


def test_every_named_test_exists() -> None:
    """Each `file::test` of the table is a test function in that file under tests/."""
    named = NAMED.findall(DOC)
    assert len(named) > 50
    missing = []
    for path, name in named:
        file = ROOT / "tests" / path
        if not file.exists():
            missing.append(path)
            continue
        tests = {n.name for n in ast.parse(file.read_text("utf-8")).body if hasattr(n, "name")}
        if name and name not in tests:
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"


def test_sections_and_the_readme_link() -> None:
    """The four sections helpers add rows to are there, and the README links the file."""
    sections = re.findall(r"^## (.+)$", DOC, re.MULTILINE)
    assert sections == ["Hostile mail", "Hostile people", "Faults", "Data safety"]
    assert "(docs/reliability.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
