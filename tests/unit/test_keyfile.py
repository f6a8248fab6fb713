"""secret.key: written whole or not at all, never accepted empty or short; weak keys warned of."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from maildesk import keyfile
from maildesk.config import load, with_secret
from maildesk.errors import ConfigError


def config_file(tmp_path: Path, desk: str = "") -> Path:
    path = tmp_path / "maildesk.toml"
    path.write_text(f'[desk]\ndata_dir = "{tmp_path / "d"}"\n{desk}', encoding="utf-8")
    return path


@pytest.mark.parametrize("content", ["", "\n", "short-key"])
def test_an_empty_or_short_key_file_is_refused(tmp_path: Path, content: str) -> None:
    """An empty secret.key (a crash, a hand edit) is an error naming the file, never the key ""."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "secret.key").write_text(content)
    with pytest.raises(ConfigError) as raised:
        with_secret(load(config_file(tmp_path)))
    assert raised.value.source == str(tmp_path / "d" / "secret.key")
    assert raised.value.key == "desk.secret_key"


def test_a_crash_while_writing_leaves_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is written to a temp file first: dying before it is durable leaves no secret.key
    (and no temp file), so the next start makes a whole one."""
    target = tmp_path / "d" / "secret.key"
    seen: list[bool] = []

    def crash(fd: int) -> None:
        seen.append(target.exists())
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keyfile.os, "fsync", crash)
    with pytest.raises(OSError):
        with_secret(load(config_file(tmp_path)))
    assert seen == [False]
    assert not target.exists() and list((tmp_path / "d").iterdir()) == []

    monkeypatch.undo()
    key = with_secret(load(config_file(tmp_path))).desk.secret_key
    assert len(key) >= keyfile.MIN_LENGTH and target.read_text() == key
    assert target.stat().st_mode & 0o777 == 0o600


def test_an_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    """A key already on disk is kept (a second process starting at once reads the first's key)."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "secret.key").write_text("k" * 20 + "0123456789abcdef")
    keyfile._create(tmp_path / "d" / "secret.key")
    assert (tmp_path / "d" / "secret.key").read_text() == "k" * 20 + "0123456789abcdef"
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["secret.key"]


@pytest.mark.parametrize("key", ["…", "...", "changeme", "corta-0123456789", "ab" * 20, "Z" * 64])
def test_a_weak_configured_key_warns(
    tmp_path: Path, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The README's placeholder, a short key or one of few characters is logged as weak, naming the file."""
    path = config_file(tmp_path, f'secret_key = "{key}"\n')
    with caplog.at_level(logging.WARNING, logger="maildesk.keyfile"):
        assert with_secret(load(path)).desk.secret_key == key
    assert f"{path}: desk.secret_key is weak" in caplog.text


def test_a_strong_configured_key_is_quiet(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A random 43-character key gives no warning."""
    path = config_file(tmp_path, 'secret_key = "dG9wLXNlY3JldC1rZXktZm9yLXRlc3RzLTAxMjM0NTY3OA"\n')
    with caplog.at_level(logging.WARNING, logger="maildesk.keyfile"):
        with_secret(load(path))
    assert "weak" not in caplog.text
