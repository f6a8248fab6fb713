"""`maildesk run` on its embedded defaults as a real process, for tests that need the daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port


@dataclass
class Running:
    """The daemon, its environment, its log and the ports it listens on."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path
    smtp_port: int
    web_port: int

    def log_text(self) -> str:
        return self.log.read_text()

    def wait_for(self, words: str, deadline: float) -> str:
        """The log once it holds `words` (bounded; the daemon must still be running)."""
        while words not in self.log_text() and time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_text()
            time.sleep(0.1)
        return self.log_text()


def init_folder(folder: Path) -> None:
    """`maildesk init` of a new desk in `folder`, as its first-day command does it."""
    done = subprocess.run(
        [sys.executable, "-m", "maildesk", "init", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr


@contextmanager
def embedded_daemon(folder: Path, extra_env: dict[str, str] | None = None) -> Iterator[Running]:
    """`maildesk run` with no config in `folder`, on free ports; killed if still up at the end."""
    smtp_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "MAILDESK_CONFIG": str(folder / "absent.toml"),
        "MAILDESK_LISTENER_LISTEN": f"127.0.0.1:{smtp_port}",
        "MAILDESK_WEB_LISTEN": f"127.0.0.1:{web_port}",
        "MAILDESK_DESK_BASE_URL": f"http://127.0.0.1:{web_port}",
        **(extra_env or {}),
    }
    log = folder / "run.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "maildesk", "run"],
        cwd=folder,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield Running(process, env, log, smtp_port, web_port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
