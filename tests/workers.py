"""`maildesk run --only PART` workers as real processes on one config, for the multi-worker
test and bench/workers.py: start them, wait for them, and kill an outbox worker safely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Worker:
    """One `maildesk run --only PART` process and its log."""

    part: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None  # the listener's or the page's, when it has one

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean stop, no lease released, no lock given back by the worker."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 30, *, signalled: bool = False) -> int:
        """SIGTERM (unless already sent) and the exit code (killed if it does not stop in time)."""
        if not signalled and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return -9


def start_worker(
    config: Path, part: str, name: str, *, port: int | None = None, base_url: str | None = None
) -> Worker:
    """`maildesk run --only part`; a listener or page worker listens on its own `port`."""
    env = {**os.environ, "MAILDESK_CONFIG": str(config)}
    if port is not None and part == "listener":
        env["MAILDESK_LISTENER_LISTEN"] = f"127.0.0.1:{port}"
    if port is not None and part == "web":
        env["MAILDESK_WEB_LISTEN"] = f"127.0.0.1:{port}"
    if base_url is not None:
        env["MAILDESK_DESK_BASE_URL"] = base_url
    log = config.parent / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "maildesk", "run", "--only", part],
        cwd=config.parent,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Worker(part, process, log, port)


def wait_running(workers: list[Worker], timeout: float = 240) -> None:
    """Until every worker has logged its start-up banner (each must still be alive)."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        while "maildesk is running" not in worker.log_text():
            assert worker.process.poll() is None, f"{worker.part} died:\n{worker.log_text()}"
            assert time.monotonic() < deadline, f"{worker.part} never started:\n{worker.log_text()}"
            time.sleep(0.1)


def stop_all(workers: list[Worker]) -> dict[str, int]:
    """SIGTERM to every live worker at once, then each one's exit code by log name."""
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    return {worker.log.stem: worker.stop(signalled=True) for worker in workers}


def _notes(receipts: Path) -> set[str]:
    if not receipts.is_dir():
        return set()
    return {p.name for p in receipts.iterdir() if p.name.isdigit()}


def kill_outbox_worker_outside_smtp(victim: Worker, receipts: Path, timeout: float = 20) -> bool:
    """SIGKILL an outbox worker at a moment it is not inside an SMTP exchange; True if done so.

    A kill after our final dot and before the relay's 250 resends the mail whatever the
    sender does (RFC 1047), so the test would measure luck. The victim is frozen
    (SIGSTOP); a relay receipt that outlives the other worker's own sends (noted and
    forgotten within milliseconds) is the victim's: it is between the 250 and its record,
    or holds a row lock that keeps the other waiting, either way not talking SMTP. Then it
    is killed; else it is let go and tried again a moment later.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        os.kill(victim.pid, signal.SIGSTOP)
        first = _notes(receipts)
        time.sleep(0.3)
        lasting = first & _notes(receipts)
        time.sleep(0.3)
        if lasting & _notes(receipts):
            victim.kill()
            return True
        os.kill(victim.pid, signal.SIGCONT)
        time.sleep(0.01)
    return False
