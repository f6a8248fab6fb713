"""Logs as an operator gets them from real processes: JSON lines naming the ticket and the
Message-Id, a file that logrotate (the real binary, with deploy/logrotate/maildesk)
moves away under a running daemon without a line lost."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

from tests.daemons import Running, embedded_daemon
from tests.integration.test_cli import maildesk
from tests.mails import make_mail
from tests.servers import require_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
HOSTILE_ID = "<fuga.1\x1b[31m\x0b@correo.example>"


def test_json_lines_name_the_ticket_and_message_id_of_each_mail(tmp_path: Path) -> None:
    """With `[log] format = "json"` and a file, ingesting a mail and sending its confirmation
    writes only JSON lines; those about the mail carry its ticket and Message-Id."""
    log_file = tmp_path / "maildesk.log"
    (tmp_path / "maildesk.toml").write_text(
        '[desk]\ndatabase = "sqlite:///maildesk.db"\n'
        f'[log]\nformat = "json"\nfile = "{log_file.name}"\n',
        encoding="utf-8",
    )
    assert maildesk("db", "upgrade", cwd=tmp_path).returncode == 0
    raw = make_mail(message_id="PLACEHOLDER").replace(b"PLACEHOLDER", HOSTILE_ID.encode())
    (tmp_path / "m.eml").write_bytes(raw)
    assert maildesk("ingest", "m.eml", cwd=tmp_path).returncode == 0
    sent = maildesk("outbox", "send", "--once", cwd=tmp_path)
    assert sent.returncode == 0 and sent.stderr == "", sent.stderr
    shown = json.loads(maildesk("ticket", "show", "1", "--format", "json", cwd=tmp_path).stdout)
    stored_id = shown["messages"][0]["message_id"]
    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    about_mail = [line for line in lines if line.get("ticket") == 1]
    assert about_mail, lines
    assert all("message_id" in line for line in about_mail)
    assert any(line["message_id"] == stored_id for line in about_mail), about_mail
    sent_line = next(line for line in lines if line["message"].endswith(" sent"))
    assert sent_line["ticket"] == 1 and sent_line["message_id"].startswith("<md.1.")


def test_plain_lines_from_the_command_line_name_the_ticket(tmp_path: Path) -> None:
    """`--log-format plain` wins over the file's json: `[#1 <id>]` before the message."""
    (tmp_path / "maildesk.toml").write_text(
        '[desk]\ndatabase = "sqlite:///maildesk.db"\n[log]\nformat = "json"\n', encoding="utf-8"
    )
    assert maildesk("db", "upgrade", cwd=tmp_path).returncode == 0
    assert maildesk("ingest", cwd=tmp_path, stdin=make_mail()).returncode == 0
    sent = maildesk("--log-format", "plain", "outbox", "send", "--once", cwd=tmp_path)
    line = next(x for x in sent.stderr.splitlines() if x.endswith(" sent"))
    assert re.search(r" INFO maildesk\.outbound\.outbox: \[#1 <md\.1\.[^ ]+>\] outbox 1 to ", line)


def _rotation_conf(tmp_path: Path, log_file: Path) -> Path:
    """deploy/logrotate/maildesk for `log_file`, its owner this test's user."""
    text = (ROOT / "deploy" / "logrotate" / "maildesk").read_text(encoding="utf-8")
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    text = text.replace("/var/log/maildesk/maildesk.log", str(log_file))
    text = text.replace("maildesk maildesk", f"{user} {group}")
    conf = tmp_path / "logrotate.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def _send(port: int, count: int, first: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for n in range(first, first + count):
            raw = make_mail(sender=f"vecina{n}@correo.example", subject=f"Solicitud {n}")
            smtp.sendmail(f"vecina{n}@correo.example", ["soporte@localhost"], raw)


SENT = re.compile(r"outbox \d+ to \S+ sent$")


def _sent_lines(*files: Path) -> int:
    return sum(
        1
        for f in files
        if f.exists()
        for line in f.read_text(encoding="utf-8").splitlines()
        if SENT.search(line)
    )


def _wait_sent(daemon: Running, files: tuple[Path, ...], count: int) -> None:
    deadline = time.monotonic() + 60
    while _sent_lines(*files) < count and time.monotonic() < deadline:
        assert daemon.process.poll() is None, daemon.log_text()
        time.sleep(0.2)
    assert _sent_lines(*files) == count


def test_logrotate_moves_the_file_under_a_running_daemon_and_no_line_is_lost(
    tmp_path: Path,
) -> None:
    """The real logrotate with deploy/logrotate/maildesk rotates the running daemon's file:
    later lines land in the new file, and every sent mail's line is in one of the two."""
    binary = shutil.which("logrotate") or "/usr/sbin/logrotate"
    if not os.access(binary, os.X_OK):
        require_server("logrotate", "the logrotate binary is missing (apt-get install logrotate)")
    log_dir = tmp_path / "log"
    log_dir.mkdir(mode=0o755)
    log_file = log_dir / "maildesk.log"
    conf = _rotation_conf(tmp_path, log_file)
    folder = tmp_path / "desk"
    folder.mkdir()
    with embedded_daemon(folder, extra_env={"MAILDESK_LOG_FILE": str(log_file)}) as daemon:
        deadline = time.monotonic() + 30
        while "status page on" not in (log_file.read_text() if log_file.exists() else ""):
            assert daemon.process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        rotated = log_dir / "maildesk.log.1"
        _send(daemon.smtp_port, 3, 0)
        _wait_sent(daemon, (log_file,), 3)
        done = subprocess.run(
            [binary, "-f", "-s", str(tmp_path / "state"), str(conf)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert rotated.exists() and _sent_lines(rotated) == 3
        _send(daemon.smtp_port, 4, 3)
        _wait_sent(daemon, (log_file, rotated), 7)
        assert _sent_lines(log_file) == 4 and _sent_lines(rotated) == 3
        assert oct(log_file.stat().st_mode & 0o777) == "0o640"
