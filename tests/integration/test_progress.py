"""Long commands draw a progress bar on a terminal, and nothing elsewhere: `fetch --once`
importing a mailbox's past, `directory import`, `report`."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path

import pytest

from maildesk.cli import main
from maildesk.daemon import fetch_once
from maildesk.reports import By, report_for
from maildesk.reports.figures import BUILD_STEPS
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import ImapUser


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def last_draw(stream: io.StringIO) -> str:
    return stream.getvalue().rstrip("\n").split("\r")[-1].removesuffix("\x1b[K")


def test_fetch_once_importing_the_past_counts_every_mail(
    make_desk: DeskFactory, imap_user: ImapUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five mails already in the mailbox, imported by `fetch --once`: the bar ends at 5/5."""
    for n in range(5):
        imap_user.server.append(
            imap_user.username, make_mail(sender=f"v{n}@correo.example", subject=f"Pedido {n}")
        )
    desk = make_desk(imap=imap_user.table(import_existing=True))
    shown = Terminal()
    monkeypatch.setattr(sys, "stderr", shown)
    assert fetch_once(desk) == 5
    assert last_draw(shown) == "default: mail [####################] 5/5 100%"
    assert shown.getvalue().endswith("\n")


def test_directory_import_and_report_draw_on_a_terminal_only(
    make_desk: DeskFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`directory import` counts its rows and `report` its steps on a terminal; piped, nothing."""
    make_desk()  # the desk and its maildesk.toml, used by the commands below
    sheet = tmp_path / "directorio.csv"
    sheet.write_text(
        "torre;unidad;nombre;correo\nÑandú;401;Ana Núñez;ana@correo.example\n"
        "Ñandú;402;Beto Peña;beto@correo.example\nÑandú;403;;\n",
        encoding="utf-8",
    )
    config = str(tmp_path / "maildesk.toml")
    shown = Terminal()
    monkeypatch.setattr(sys, "stderr", shown)
    assert main(["--config", config, "directory", "import", str(sheet)]) == 0
    assert last_draw(shown) == "directory [####################] 3/3 100%"

    shown = Terminal()
    monkeypatch.setattr(sys, "stderr", shown)
    assert main(["--config", config, "report", "--format", "json"]) == 0
    assert last_draw(shown) == f"report [####################] {BUILD_STEPS}/{BUILD_STEPS} 100%"

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    assert main(["--config", config, "report", "--format", "json"]) == 0
    assert "\r" not in piped.getvalue() and "[####" not in piped.getvalue()


def test_report_steps_are_counted(make_desk: DeskFactory) -> None:
    """`report_for` calls its step exactly BUILD_STEPS times, so the bar ends at 100%."""
    desk = make_desk()
    steps: list[int] = []
    report_for(
        desk, date(2026, 11, 1), date(2026, 11, 30), By("week"), step=lambda: steps.append(1)
    )
    assert len(steps) == BUILD_STEPS
