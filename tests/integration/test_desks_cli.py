"""`--desk SLUG` on an install of two buildings: reads cover both, changes name one."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from maildesk.cli import main
from tests.conftest import SECRET
from tests.desks import NORTE, SUR, install_toml
from tests.mails import make_mail

pytestmark = pytest.mark.integration


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def pipe(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config: Path,
    raw: bytes,
    *args: str,
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    return run(capsys, config, "ingest", *args)


def test_desk_option_on_two_buildings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = install_toml(tmp_path, f"sqlite:///{tmp_path / 'todo.db'}", SECRET)
    assert run(capsys, config, "db", "upgrade")[0] == 0
    norte = make_mail(to=NORTE, subject="Fuga en la norte")
    sur = make_mail(to=SUR, subject="Portón de la sur")
    # An MTA pipe's mail goes to the desk of its recipient; none of ours is refused.
    assert pipe(monkeypatch, capsys, config, norte, "--recipient", NORTE)[0] == 0
    assert pipe(monkeypatch, capsys, config, sur, "--recipient", SUR)[0] == 0
    code, _out, err = pipe(monkeypatch, capsys, config, sur)
    assert code == 1 and "--desk" in err and "norte, sur" in err

    code, out, _err = run(capsys, config, "ticket", "list", "--format", "json")
    assert code == 0
    listed = sorted((t["desk"], t["number"], t["subject"]) for t in json.loads(out))
    assert listed == [("norte", 1, "Fuga en la norte"), ("sur", 1, "Portón de la sur")]
    code, out, _err = run(capsys, config, "ticket", "list", "--desk", "sur", "--format", "json")
    assert [(t["number"], t["subject"]) for t in json.loads(out)] == [(1, "Portón de la sur")]
    assert "desk" not in json.loads(out)[0]

    code, _out, err = run(capsys, config, "ticket", "show", "1")
    assert code == 1 and "--desk: expected the desk to act on, one of norte, sur" in err
    code, _out, err = run(capsys, config, "ticket", "show", "1", "--desk", "oeste")
    assert code == 1 and "--desk: expected one of norte, sur, got 'oeste'" in err
    code, out, _err = run(capsys, config, "ticket", "show", "1", "--desk", "sur")
    assert code == 0 and "Portón de la sur" in out and "Fuga" not in out

    code, _out, err = run(capsys, config, "ticket", "open", "--for", "x@correo.example",
                          "--subject", "Llamada")  # fmt: skip
    assert code == 1 and "norte, sur" in err
    code, out, _err = run(capsys, config, "ticket", "open", "--desk", "norte",
                          "--for", "x@correo.example", "--subject", "Llamada")  # fmt: skip
    assert (code, out.strip()) == (0, "opened ticket 2")

    code, out, _err = run(capsys, config, "outbox", "list", "--format", "json")
    assert {row["desk"] for row in json.loads(out)} == {"norte", "sur"}
    code, out, _err = run(capsys, config, "outbox", "send", "--once", "--desk", "sur")
    assert code == 0 and out.startswith("sent ") and not out.startswith("sent 0")
    code, out, _err = run(
        capsys, config, "outbox", "list", "--status", "pending", "--format", "json"
    )
    assert {row["desk"] for row in json.loads(out)} == {"norte"}
