"""`ticket list` in pages: `--limit`, `--page` and `--after`, a footer saying where the
next page starts; JSON stays the documented array, written as it is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maildesk.cli import read as views
from tests.conftest import SECRET
from tests.desks import NORTE, SUR, install_toml
from tests.integration.test_desks_cli import pipe, run
from tests.mails import make_mail

pytestmark = pytest.mark.integration


def numbers(table: str) -> list[int]:
    """The ticket numbers of a one-desk table, top to bottom."""
    return [int(line.split()[0]) for line in table.splitlines() if line.split()[0].isdigit()]


def test_pages_of_a_desk_and_of_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = install_toml(tmp_path, f"sqlite:///{tmp_path / 'todo.db'}", SECRET)
    assert run(capsys, config, "db", "upgrade")[0] == 0
    for n in range(5):
        raw = make_mail(to=NORTE, subject=f"Fuga {n} en la torre Ñandú", message_id=f"<f{n}@x>")
        assert pipe(monkeypatch, capsys, config, raw, "--recipient", NORTE)[0] == 0
    raw = make_mail(to=SUR, subject="Portón de la sur", message_id="<p@x>")
    assert pipe(monkeypatch, capsys, config, raw, "--recipient", SUR)[0] == 0

    def table(*args: str) -> tuple[list[int], str]:
        code, out, err = run(capsys, config, "ticket", "list", "--desk", "norte", *args)
        assert code == 0, err
        return numbers(out), out.rstrip("\n").splitlines()[-1]

    assert table("--limit", "2") == ([5, 4], "showing 1–2 of 5; next: --page 2")
    assert table("--limit", "2", "--page", "2") == ([3, 2], "showing 3–4 of 5; next: --page 3")
    assert table("--limit", "2", "--page", "3") == ([1], "showing 5–5 of 5")
    assert table("--limit", "2", "--after", "4") == ([3, 2], "showing 3–4 of 5; next: --after 2")
    assert table("--state", "recibido") == ([5, 4, 3, 2, 1], "showing 1–5 of 5")
    assert table("--state", "cerrado") == ([], "(none)")

    code, out, _err = run(capsys, config, "ticket", "list", "--limit", "2")
    assert out.rstrip("\n").splitlines()[-2:] == [
        "norte: showing 1–2 of 5; next: --page 2",
        "sur: showing 1–1 of 1",
    ]

    code, out, _err = run(capsys, config, "ticket", "list", "--desk", "norte", "--format", "json")
    listed = json.loads(out)
    assert [t["number"] for t in listed] == [5, 4, 3, 2, 1]  # JSON: every ticket by default
    assert out == json.dumps(listed, ensure_ascii=False, indent=2) + "\n"
    assert listed[0]["subject"] == "Fuga 4 en la torre Ñandú"
    code, out, _err = run(
        capsys, config, "ticket", "list", "--format", "json", "--limit", "1", "--after", "5"
    )
    assert [(t["desk"], t["number"]) for t in json.loads(out)] == [("norte", 4), ("sur", 1)]
    code, out, _err = run(
        capsys, config, "ticket", "list", "--desk", "sur", "--format", "json", "--page", "2"
    )
    assert out == "[]\n"


@pytest.mark.parametrize(
    ("before", "shown", "total", "line"),
    [
        (0, 50, 1234, "showing 1–50 of 1,234; next: --page 2"),
        (1200, 34, 1234, "showing 1,201–1,234 of 1,234"),
    ],
)
def test_page_footer(before: int, shown: int, total: int, line: str) -> None:
    assert views.page_footer(before, shown, total, "--page 2") == line
