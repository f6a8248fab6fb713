"""`maildesk backup` and `restore`: a restored desk answers the same, and a bad restore
leaves the old desk as it was (SQLite and PostgreSQL, a throwaway database each)."""

from __future__ import annotations

import email
import io
import os
import random
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from alembic import command
from sqlalchemy import create_engine, func, select, text

from maildesk import config as config_mod
from maildesk.backup import archive as backup_archive
from maildesk.backup import database as backup_database
from maildesk.backup.manifest import NAME, Manifest
from maildesk.cli import main
from maildesk.clock import FixedClock
from maildesk.context import Desk, open_desk
from maildesk.daemon import send_outbox
from maildesk.db import _alembic_config, foreign_keys_deferred, sqlite_file
from maildesk.domain import OutboxKind
from maildesk.inbound.accept import accept
from maildesk.migrations import HEAD
from maildesk.models import Attachment, Outbox, Ticket
from maildesk.web import create_app
from tests.conftest import PG_ADMIN_URL, DeskFactory
from tests.mails import DESK, make_mail
from tests.outmail import queued_mail

pytestmark = pytest.mark.integration

RESIDENT = "vecina@correo.example"
PHOTO = ("foto_baño.jpg", "image/jpeg", b"\xff\xd8\xff una foto del bano " * 50)


@pytest.fixture
def source(make_desk: DeskFactory) -> Desk:
    """A desk whose secret was generated into data_dir/secret.key, with two tickets."""
    desk = make_desk(desk={"secret_key": ""})
    accept(desk, make_mail(attachments=[PHOTO]), source="pipe")
    accept(desk, make_mail(sender="otro@correo.example", subject="Ruido"), source="pipe")
    return desk


@pytest.fixture
def target_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database for the restored desk, of the same kind as the source's."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'nueva' / 'maildesk.db'}"
        return
    name = f"maildesk_restored_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def target(tmp_path: Path, target_url: str) -> Path:
    """Another machine's maildesk.toml for the same desk: its own database and data_dir."""
    folder = tmp_path / "nueva"
    folder.mkdir(exist_ok=True)
    path = folder / "maildesk.toml"
    desk = {
        "name": "Edificio Alameda — Soporte",
        "address": DESK,
        "base_url": "https://soporte.alameda.example",
        "database": target_url,
        "data_dir": str(folder / "data"),
    }
    path.write_text(tomli_w.dumps({"desk": desk}), encoding="utf-8")
    return path


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


def opened(path: Path, clock: FixedClock) -> Desk:
    return open_desk(config_mod.load(path), upgrade=False, clock=clock)


def numbers(desk: Desk) -> list[int]:
    with desk.db.read_only() as session:
        return list(session.scalars(select(Ticket.number).order_by(Ticket.number)))


def backup(desk: Desk, path: Path) -> None:
    assert main(["--config", desk.config.source, "backup", str(path)]) == 0


def restore(target: Path, archive: Path, *extra: str) -> int:
    return main(["--config", str(target), "restore", str(archive), *extra])


def test_restored_desk_answers_the_same(
    source: Desk, target: Path, target_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    """After a restore elsewhere: the old signed reply address threads, the status link and
    its photo open, and numbering goes on from where it was."""
    archive = tmp_path / "respaldo.tar.gz"
    backup(source, archive)
    drop_database(target_url)  # a new machine: PostgreSQL's database is made by the restore
    assert restore(target, archive) == 0
    desk = opened(target, clock)
    try:
        assert desk.secret == source.secret  # from the archive's secret.key
        file = sqlite_file(desk.config.database_url)
        assert file is None or file.stat().st_mode & 0o777 == 0o600
        [raw] = queued_mail(
            desk, Outbox.kind == OutboxKind.CONFIRMATION, Outbox.recipient == RESIDENT
        )
        with desk.db.read_only() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == 1)).one()
            token = ticket.status_token
            photo = session.scalars(select(Attachment.id)).first()
        reply_to = email.message_from_bytes(raw, policy=default)["Reply-To"].addresses[0].addr_spec
        accept(desk, make_mail(to=reply_to, subject="sin asunto", body="Sigue."), source="pipe")
        with desk.db.read_only() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == 1)).one()
            assert [m.text for m in ticket.messages if m.direction == "inbound"][-1] == "Sigue."
        client = create_app(desk).test_client()
        page = client.get(f"/t/{token}")
        assert page.status_code == 200 and "Fuga de agua" in page.get_data(as_text=True)
        assert client.get(f"/t/{token}/a/{photo}").data == PHOTO[2]
        accept(desk, make_mail(sender="nuevo@correo.example", subject="Ascensor"), source="pipe")
        assert numbers(desk) == [1, 2, 3]
    finally:
        desk.db.dispose()


def test_restore_refuses_a_desk_in_use_and_a_crash_leaves_it_whole(
    source: Desk,
    target: Path,
    tmp_path: Path,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A desk with tickets is replaced only with --force; a restore that dies before its
    swap leaves that desk, its own secret and its files as they were."""
    archive = tmp_path / "respaldo.tar.gz"
    backup(source, archive)
    desk = open_desk(config_mod.load(target), upgrade=True, clock=clock)  # a desk of its own
    accept(desk, make_mail(sender="nuevo@correo.example", subject="Ascensor"), source="pipe")
    secret = desk.secret
    assert secret != source.secret
    desk.db.dispose()

    assert restore(target, archive) == 1  # not empty

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt("killed in the middle of the restore")

    monkeypatch.setattr(backup_database, "copy_sqlite", killed)
    monkeypatch.setattr(backup_database, "swap_postgres", killed)
    with pytest.raises(KeyboardInterrupt):
        restore(target, archive, "--force")
    monkeypatch.undo()
    desk = opened(target, clock)
    try:
        assert whole(desk) == [1] and desk.secret == secret
        with desk.db.read_only() as session:
            assert session.scalars(select(Ticket.subject)).one() == "Ascensor"
        leftovers = [p.name for p in desk.config.data_path.parent.iterdir()]
        assert not [n for n in leftovers if n.startswith(".maildesk-restore-")]
    finally:
        desk.db.dispose()

    assert restore(target, archive, "--force") == 0
    desk = opened(target, clock)
    try:
        assert numbers(desk) == [1, 2] and desk.secret == source.secret
    finally:
        desk.db.dispose()


def rewritten(archive: Path, out: Path, change: dict[str, bytes]) -> Path:
    """A copy of `archive` with some members' bytes replaced."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member)
            content = change.get(member.name, data.read() if data else b"")
            member.size = len(content)
            dst.addfile(member, io.BytesIO(content))
    return out


def test_damaged_or_newer_archives_are_refused(
    source: Desk, target: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A flipped byte, a file slipped in or a newer schema stop the restore before any change."""
    archive = tmp_path / "respaldo.tar.gz"
    backup(source, archive)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = Manifest.from_json(tar.extractfile(NAME).read())  # type: ignore[union-attr]
    key = "data/secret.key"
    assert key in names and manifest.database_member in names
    damaged = rewritten(archive, tmp_path / "roto.tar.gz", {key: b"otra-clave-cualquiera"})
    assert restore(target, damaged) == 1
    assert "data/secret.key in the archive does not match its checksum" in capsys.readouterr().err
    data = manifest.to_json().replace(f'"{manifest.revision}"'.encode(), b'"9999"')
    newer_archive = rewritten(archive, tmp_path / "nueva.tar.gz", {NAME: data})
    assert restore(target, newer_archive) == 1
    assert "is newer than this maildesk" in capsys.readouterr().err
    assert not (tmp_path / "nueva" / "data" / "secret.key").exists()


def test_an_older_archive_is_upgraded_on_restore(
    source: Desk, target: Path, tmp_path: Path, clock: FixedClock
) -> None:
    """An archive of an older schema comes back upgraded to this maildesk's, tickets and all.

    The older code cannot build a draft: the downgrade refuses while unbuilt mail waits."""
    cfg = _alembic_config()

    def downgrade() -> None:
        with (
            source.db.engine.connect() as connection,
            foreign_keys_deferred(connection),
            connection.begin(),
        ):
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0006")

    with pytest.raises(RuntimeError, match="2 mails in the outbox are not built yet"):
        downgrade()
    assert source.db.revision() == HEAD
    assert send_outbox(source).sent == 2
    downgrade()
    archive = tmp_path / "antiguo.tar.gz"
    manifest = backup_archive.create(source, archive, now=clock.now())
    assert manifest.revision == "0006"
    assert restore(target, archive) == 0
    desk = opened(target, clock)  # refuses a schema older than the code
    try:
        assert backup_database.revision_age(desk.db.revision() or "") == "current"
        with desk.db.read_only() as session:
            count = session.scalar(select(func.count()).select_from(Ticket))
            assert count == 2
    finally:
        desk.db.dispose()


def whole(desk: Desk) -> list[int]:
    """The desk's ticket numbers, after checking every attachment it names is on disk."""
    with desk.db.read_only() as session:
        for sha256 in session.scalars(select(Attachment.sha256)):
            assert desk.blobs.path(sha256).exists(), f"a restore left {sha256} named but missing"
    return numbers(desk)


def test_sigkill_at_random_points_of_a_restore_leaves_one_whole_desk(
    source: Desk, target: Path, tmp_path: Path, clock: FixedClock
) -> None:
    """`restore --force` killed with SIGKILL at seeded random moments: each time the desk is
    the old one or the restored one, whole; the next restore finishes the job."""
    archive = tmp_path / "respaldo.tar.gz"
    backup(source, archive)
    command = [sys.executable, "-m", "maildesk", "--config", str(target), "restore"]
    started = time.monotonic()
    subprocess.run([*command, str(archive)], check=True, capture_output=True)
    took = time.monotonic() - started  # one whole restore, to spread the kills over
    desk = opened(target, clock)
    accept(desk, make_mail(sender="nuevo@correo.example", subject="Ascensor"), source="pipe")
    desk.db.dispose()
    for delay in random.Random(15).sample(range(20, 100), 3):
        proc = subprocess.Popen(
            [*command, str(archive), "--force"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(took * delay / 100)
        proc.kill()
        proc.wait()
        desk = opened(target, clock)
        try:
            found = whole(desk)
        finally:
            desk.db.dispose()
        assert found in ([1, 2, 3], [1, 2]), found
    assert restore(target, archive, "--force") == 0
    desk = opened(target, clock)
    try:
        assert whole(desk) == [1, 2]
    finally:
        desk.db.dispose()
