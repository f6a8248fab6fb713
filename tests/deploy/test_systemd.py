"""deploy/*.service and maildesk.target: units systemd accepts, hardened, one worker per part."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from maildesk.daemon import PARTS
from tests.servers import require_server

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("maildesk.service", "maildesk@.service")
UNITS = (*SERVICES, "maildesk.target")
# `systemd-analyze security` scores 0 (locked down) to 10; below 2 it says "OK".
EXPOSURE_AT_MOST = 2.0
HARDENING = {
    "NoNewPrivileges": "true",
    "ProtectSystem": "strict",
    "ProtectHome": "true",
    "PrivateTmp": "true",
    "PrivateDevices": "true",
    "ProtectKernelTunables": "true",
    "ProtectKernelModules": "true",
    "ProtectKernelLogs": "true",
    "ProtectControlGroups": "true",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces": "true",
    "LockPersonality": "true",
    "MemoryDenyWriteExecute": "true",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
    "ReadWritePaths": "/var/lib/maildesk",
}


def settings(unit: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file, in order (a key may repeat)."""
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / unit).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        require_server("systemd-analyze", "it checks the units (apt-get install systemd)")
    return found


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The units in a folder, their /opt/maildesk made a real prefix with an executable
    `maildesk` (verify checks that ExecStart's program exists)."""
    program = tmp_path / "opt" / ".venv" / "bin" / "maildesk"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for unit in UNITS:
        text = (DEPLOY / unit).read_text(encoding="utf-8")
        (units / unit).write_text(text.replace("/opt/maildesk", str(tmp_path / "opt")))
    for part in PARTS:  # the instances an operator enables
        shutil.copy(units / "maildesk@.service", units / f"maildesk@{part}.service")
    return units


def test_systemd_accepts_every_unit(installed: Path) -> None:
    """`systemd-analyze verify` finds nothing to say about the units or any part's instance."""
    names = ["maildesk.service", "maildesk.target", *(f"maildesk@{p}.service" for p in PARTS)]
    done = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", *(f"./{n}" for n in names)],
        capture_output=True,
        text=True,
        cwd=installed,
    )
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), (
        done.stdout + done.stderr
    )


def test_systemd_verify_would_say_when_a_unit_is_wrong(installed: Path) -> None:
    """The check above can fail: a misspelt setting is reported."""
    unit = installed / "maildesk.service"
    unit.write_text(unit.read_text().replace("Restart=on-failure", "Restart=on-fialure"))
    done = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", "./maildesk.service"],
        capture_output=True,
        text=True,
        cwd=installed,
    )
    assert "restart specifier" in done.stderr, done.stderr


@pytest.mark.parametrize("unit", ["maildesk.service", "maildesk@web.service"])
def test_units_are_hardened(installed: Path, unit: str) -> None:
    """`systemd-analyze security --offline` rates each service's exposure "OK" (under 2 of 10)."""
    done = subprocess.run(
        [
            systemd_analyze(),
            "security",
            "--offline=true",
            f"--threshold={int(EXPOSURE_AT_MOST * 10)}",
            f"./{unit}",
        ],
        capture_output=True,
        text=True,
        cwd=installed,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= EXPOSURE_AT_MOST and done.returncode == 0, done.stdout


@pytest.mark.parametrize("unit", SERVICES)
def test_service_restarts_reads_its_secrets_and_is_locked_down(unit: str) -> None:
    """Each service restarts on failure, reads /etc/maildesk/env, and sets every hardening
    option the install documents."""
    found = settings(unit)
    assert found["Restart"] == ["on-failure"]
    assert found["EnvironmentFile"] == ["-/etc/maildesk/env"]
    assert found["Environment"] == ["MAILDESK_CONFIG=/etc/maildesk/maildesk.toml"]
    assert found["User"] == ["maildesk"] and found["KillSignal"] == ["SIGTERM"]
    assert {k: found.get(k, [None])[-1] for k in HARDENING} == HARDENING
    assert found["SystemCallFilter"][0] == "@system-service"


def test_one_worker_per_part_grouped_by_the_target() -> None:
    """The template runs `--only %i`, belongs to maildesk.target, and its comment names every part."""
    template = settings("maildesk@.service")
    assert template["ExecStart"] == ["/opt/maildesk/.venv/bin/maildesk run --only %i"]
    assert template["PartOf"] == ["maildesk.target"]
    assert template["WantedBy"] == ["maildesk.target"]
    assert settings("maildesk.target")["WantedBy"] == ["multi-user.target"]
    comment = (DEPLOY / "maildesk@.service").read_text().split("[Unit]")[0]
    assert all(f"maildesk@{part}" in comment for part in PARTS), comment
    # The two services differ only in what they run and how they are grouped.
    one, each = settings("maildesk.service"), template
    for key in set(one) | set(each):
        if key not in ("Description", "ExecStart", "ExecStartPre", "PartOf", "WantedBy"):
            assert one.get(key) == each.get(key), key
