"""The pure parts of backup, restore and purge: manifests, revisions, cut-offs, scrubbing,
the progress line."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from maildesk.backup.database import revision_age
from maildesk.backup.manifest import SQLITE_MEMBER, Manifest, member_of, verify
from maildesk.config import load
from maildesk.db import MIGRATIONS
from maildesk.errors import BackupError, ConfigError, Refused
from maildesk.progress import Progress, line
from maildesk.tickets.purge import check_cutoff, scrub_detail

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def manifest_for(root: Path) -> Manifest:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return Manifest(
        version="0.1.0",
        revision="0001",
        database="sqlite",
        created_at=NOW.isoformat(),
        counts={"tickets": 1},
        addresses=("soporte@alameda.example",),
        members=tuple(member_of(root, p) for p in files),
    )


@pytest.fixture
def unpacked(tmp_path: Path) -> Path:
    (tmp_path / SQLITE_MEMBER).write_bytes(b"SQLite format 3\x00")
    (tmp_path / "data" / "attachments").mkdir(parents=True)
    (tmp_path / "data" / "attachments" / "ab").write_bytes("foto de Ñuñoa".encode())
    return tmp_path


def test_manifest_round_trips_and_verifies(unpacked: Path) -> None:
    """A manifest read back equals the one written, and its files pass the check."""
    manifest = manifest_for(unpacked)
    assert Manifest.from_json(manifest.to_json()) == manifest
    verify(manifest, unpacked)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda root: (root / "data/attachments/ab").write_bytes(b"x" * 15), "checksum"),
        (lambda root: (root / "data/attachments/ab").unlink(), "lacks 1 listed files"),
        (lambda root: (root / "data/intruso.sh").write_text("rm -rf /"), "does not list"),
    ],
)
def test_verify_refuses_a_changed_missing_or_extra_file(
    unpacked: Path, damage: object, says: str
) -> None:
    """Every member must be there, byte for byte, and nothing else."""
    manifest = manifest_for(unpacked)
    damage(unpacked)  # type: ignore[operator]
    with pytest.raises(BackupError, match=says):
        verify(manifest, unpacked)


def test_a_foreign_manifest_is_refused() -> None:
    """Another format, or no manifest at all, is named as such."""
    with pytest.raises(BackupError, match="not a maildesk manifest"):
        Manifest.from_json(b'{"hola": 1}')
    data = json.loads(manifest_for_text())
    data["format"] = 2
    with pytest.raises(BackupError, match="backup format 2"):
        Manifest.from_json(json.dumps(data).encode())


def manifest_for_text() -> bytes:
    return Manifest("0.1.0", "0001", "sqlite", NOW.isoformat(), {}, ("a@b.example",)).to_json()


def test_revision_age_orders_schemas() -> None:
    """The newest migration is current, an earlier one older, an unknown one newer."""
    heads = sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("0*.py"))
    assert revision_age("0001") == "older"
    assert revision_age("9999") == "newer"
    assert "current" in {revision_age(h) for h in heads}


def test_cutoff_within_the_retention_period_is_refused() -> None:
    """`--before` may not be later than now minus desk.retention_days."""
    check_cutoff(datetime(2025, 11, 30, 12, 0, tzinfo=UTC), NOW, 365)
    with pytest.raises(Refused) as refused:
        check_cutoff(datetime(2025, 12, 1, tzinfo=UTC), NOW, 365)
    assert "on or before 2025-11-30" in refused.value.detail


def test_scrub_detail_drops_free_text_and_resident_addresses() -> None:
    """An event keeps what happened, not what people wrote or who the resident was."""
    detail = json.dumps(
        {
            "from": "validacion",
            "to": "cerrado",
            "note": "Gracias María",
            "by": "Vecina@Correo.Example",
        }
    )
    kept = json.loads(scrub_detail(detail, {"vecina@correo.example"}))
    assert kept == {"from": "validacion", "to": "cerrado", "by": ""}
    staff = json.dumps({"assignee": "ana@alameda.example", "team": "mantenimiento"})
    assert json.loads(scrub_detail(staff, {"vecina@correo.example"})) == json.loads(staff)
    assert scrub_detail("", {"x@y.example"}) == ""


def test_progress_line_counts_and_guesses_the_time_left() -> None:
    """The line says how far and roughly how long is left."""
    assert line("purge", 50, 200, 10.0) == "purge [#####...............] 50/200 25% about 30 s left"
    assert (
        line("purge", 10, 1000, 60.0) == "purge [....................] 10/1000 1% about 99 min left"
    )
    assert line("purge", 200, 200, 40.0) == "purge [####################] 200/200 100%"
    assert line("import", 0, 0, 0.0) == "import [####################] 0/0 100%"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_only_on_a_terminal() -> None:
    """A terminal gets the line rewritten in place; a pipe or a log gets nothing."""
    ticks = iter([0.0, 1.0, 2.0])
    shown = Terminal()
    progress = Progress("backup", 2, stream=shown, monotonic=lambda: next(ticks))
    progress.step()
    progress.step()
    progress.finish()
    assert shown.getvalue() == (
        "\rbackup [##########..........] 1/2 50% about 1 s left\x1b[K"
        "\rbackup [####################] 2/2 100%\x1b[K\n"
    )
    piped = io.StringIO()
    quiet = Progress("backup", 2, stream=piped)
    quiet.step()
    quiet.finish()
    assert piped.getvalue() == ""


def test_a_negative_retention_is_a_config_error(tmp_path: Path) -> None:
    """desk.retention_days below 0 names the file, the key and what is expected."""
    path = tmp_path / "maildesk.toml"
    path.write_text("[desk]\nretention_days = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.key == "desk.retention_days"
    assert str(path) in str(info.value) and "0 or more" in str(info.value)
