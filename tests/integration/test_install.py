"""deploy/install.sh: the production install is one tested sequence, safe to run twice."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildesk.config import load
from tests.servers import require_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
USER = "maildesk-test"


def system_python() -> str:
    """A Python 3.11+ with venv that the service user may run (not one under /root)."""
    for candidate in (os.environ.get("MAILDESK_INSTALL_PYTHON", ""), "/usr/bin/python3"):
        if candidate and os.access(candidate, os.X_OK):
            probe = subprocess.run(
                [
                    candidate,
                    "-c",
                    "import sys, venv, ensurepip; assert sys.version_info >= (3, 11)",
                ],
                capture_output=True,
            )
            if probe.returncode == 0:
                return candidate
    require_server("a system Python 3.11 with venv", "install.sh builds the service's venv with it")


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder the service user can reach (pytest's tmp_path is private to root); the test user goes too."""
    if os.geteuid() != 0:
        require_server("root", "install.sh creates a system user and hands it its folders")
    base = Path(tempfile.mkdtemp(prefix="maildesk-install-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run(["userdel", USER], capture_output=True)


def install(base: Path, python: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PREFIX": str(base / "opt"),
        "CONFIG_DIR": str(base / "etc"),
        "STATE_DIR": str(base / "var"),
        "MAILDESK_USER": USER,
        "SYSTEMD_DIR": str(base / "systemd"),
        "PYTHON": python,
        "SYSTEMCTL": "",
    }
    env.pop("MAILDESK_CONFIG", None)
    return subprocess.run(
        ["sh", str(ROOT / "deploy" / "install.sh")],
        capture_output=True,
        text=True,
        env=env,
        cwd=base,
        timeout=600,
    )


def owner(path: Path) -> tuple[str, str, int]:
    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o7777


def test_install_gives_a_desk_the_service_user_can_run(place: Path) -> None:
    """install.sh creates the user, venv, config, env and state folder with the right owners and modes, the config loads, the database upgrades as that user, and a second run keeps it all."""
    python = system_python()
    done = install(place, python)
    assert done.returncode == 0, done.stdout + done.stderr
    config_path, state = place / "etc" / "maildesk.toml", place / "var"

    user = pwd.getpwnam(USER)
    assert user.pw_shell.endswith("nologin") and user.pw_uid < 1000
    assert owner(state) == (USER, USER, 0o700)
    assert owner(place / "etc") == ("root", USER, 0o750)
    assert owner(config_path) == ("root", USER, 0o640)
    assert owner(place / "etc" / "env") == ("root", "root", 0o600)
    assert owner(state / "maildesk.db")[0] == USER

    config = load(config_path)
    assert config.data_path == state
    assert config.database_url == f"sqlite:///{state / 'maildesk.db'}"
    assert len(config.desk.secret_key) >= 40

    maildesk = str(place / "opt" / ".venv" / "bin" / "maildesk")
    upgrade = subprocess.run(
        ["runuser", "-u", USER, "--", maildesk, "--config", str(config_path), "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=state,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert "database schema" in upgrade.stdout + upgrade.stderr

    unit = (place / "systemd" / "maildesk.service").read_text()
    for line in (
        f"User={USER}",
        f"WorkingDirectory={state}",
        f"Environment=MAILDESK_CONFIG={config_path}",
        f"ExecStart={maildesk} run",
        f"ReadWritePaths={state}",
    ):
        assert line in unit.splitlines(), line
    assert (
        f"ExecStart={maildesk} run --only %i"
        in (place / "systemd" / "maildesk@.service").read_text()
    )
    # The units as installed are ones systemd accepts (their ExecStart exists now).
    analyze = shutil.which("systemd-analyze")
    if analyze:
        shutil.copy(
            place / "systemd" / "maildesk@.service", place / "systemd" / "maildesk@web.service"
        )
        verify = subprocess.run(
            [
                analyze,
                "verify",
                "--man=no",
                "./maildesk.service",
                "./maildesk@web.service",
                "./maildesk.target",
            ],
            capture_output=True,
            text=True,
            cwd=place / "systemd",
        )
        assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
        (place / "systemd" / "maildesk@web.service").unlink()

    written = config_path.read_bytes()
    again = install(place, python)
    assert again.returncode == 0, again.stdout + again.stderr
    assert config_path.read_bytes() == written
    assert owner(state) == (USER, USER, 0o700) and owner(config_path) == ("root", USER, 0o640)


def test_install_refuses_to_run_as_another_user(tmp_path: Path) -> None:
    """Without root, install.sh stops before changing anything and says why."""
    if os.geteuid() == 0:
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("no 'nobody' user to run as")
        command = ["runuser", "-u", nobody.pw_name, "--", "sh", "-s"]
    else:
        command = ["sh", "-s"]
    done = subprocess.run(
        command,
        input=(ROOT / "deploy" / "install.sh").read_text(),
        capture_output=True,
        text=True,
        env={**os.environ, "PREFIX": str(tmp_path / "opt")},
        cwd="/",
    )
    assert done.returncode == 1 and "run it as root" in done.stderr
    assert not (tmp_path / "opt").exists()
