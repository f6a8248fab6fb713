"""How many mails per second two fetch and two outbox workers carry, against one of each.

    .venv/bin/python bench/workers.py [--mails 1000]

Starts a Dovecot and a relay (in a process of its own) and, for each setup, a fresh
PostgreSQL database with `maildesk run --only fetch` and `--only outbox` workers as
real processes. Appends N generated mails (a third with a photo) to the mailbox and
times from the first append to the last confirmation accepted by the relay:

- baseline: 1 fetch worker + 1 outbox worker;
- maildesk: 2 fetch workers + 2 outbox workers, in the same run.

One fetch worker holds the mailbox (`imap.lease_seconds`); every fetch worker works the
stored mail (reading, threading, opening the ticket, queueing the confirmation) and
every outbox worker sends. So what can scale is the processing and the sending, not the
IMAP fetch itself. Worker start-up is not timed. Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomli_w

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fetch_throughput import generate  # noqa: E402
from generate_history import database_url, drop  # noqa: E402
from sqlalchemy import create_engine, func, select  # noqa: E402

from maildesk.models import MailboxPosition  # noqa: E402
from tests.relay_process import recipients  # noqa: E402
from tests.servers import Dovecot, free_port  # noqa: E402
from tests.workers import start_worker, stop_all, wait_running  # noqa: E402


def confirmed(folder: Path) -> int:
    return sum(1 for rcpt in recipients(folder) if rcpt.startswith("residente"))


def run_setup(
    workers: int, mails: list[bytes], dovecot: Dovecot, relay_port: int, kept: Path, work: Path
) -> float:
    """Seconds from the first append to the last confirmation, with `workers` of each part."""
    user, password = f"bench{workers}-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    dovecot.add_user(user, password)
    url, pg_name = database_url("postgresql", work)
    folder = work / f"setup{workers}"
    folder.mkdir()
    config = folder / "maildesk.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "desk": {
                    "name": "Edificio Alameda — Soporte",
                    "address": "soporte@alameda.example",
                    "database": url,
                    "data_dir": str(folder / "data"),
                    "secret_key": "bench-secret-key-0123456789-abcdefghijkl",
                },
                "imap": {
                    "host": dovecot.host,
                    "port": dovecot.imap_port,
                    "security": "none",
                    "username": user,
                    "password": password,
                    "poll_seconds": 1,
                },
                "smtp": {"host": "127.0.0.1", "port": relay_port, "security": "none"},
            }
        ),
        encoding="utf-8",
    )
    started = [
        start_worker(config, part, f"{part}{n}")
        for part in ("fetch", "outbox")
        for n in range(1, workers + 1)
    ]
    engine = create_engine(url)
    try:
        wait_running(started)
        with engine.connect() as connection:  # the watcher has set its starting point
            while not connection.scalar(select(func.count()).select_from(MailboxPosition)):
                time.sleep(0.1)
                connection.rollback()
        before = confirmed(kept)
        start = time.perf_counter()
        dovecot.append_many(user, mails)
        while confirmed(kept) - before < len(mails):
            for worker in started:
                assert worker.process.poll() is None, worker.log_text()[-3000:]
            time.sleep(0.05)
        return time.perf_counter() - start
    finally:
        stop_all(started)
        engine.dispose()
        drop(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=1000)
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    mails = generate(args.mails)
    with tempfile.TemporaryDirectory(prefix="maildesk-bench-") as tmp:
        work = Path(tmp)
        kept, relay_port = work / "relayed", free_port()
        relay = subprocess.Popen(
            [sys.executable, "-m", "tests.relay_process", str(kept), str(relay_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert relay.stdout is not None and relay.stdout.readline() == b"ready\n"
        dovecot = Dovecot()
        try:
            one = run_setup(1, mails, dovecot, relay_port, kept, work)
            two = run_setup(2, mails, dovecot, relay_port, kept, work)
        finally:
            dovecot.stop()
            assert relay.stdin is not None
            relay.stdin.close()
            relay.wait(10)
    n = len(mails)
    print(f"mails: {n}, database: postgresql")
    print(f"baseline  1 fetch + 1 outbox worker   : {one:8.2f} s {n / one:8.1f} mails/s")
    print(f"maildesk  2 fetch + 2 outbox workers  : {two:8.2f} s {n / two:8.1f} mails/s")
    print(f"ratio 2+2 / 1+1: {one / two:.2f}")


if __name__ == "__main__":
    main()
