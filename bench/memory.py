"""The daemon's memory: idle, after a load of mail and pages, and one mail with a big file.

    .venv/bin/python bench/memory.py [--mails 50] [--attachment-mb 25]
        [--database sqlite|postgresql]

- idle, first start: `maildesk run` on the embedded defaults (listener, outbox,
  scheduler, status page) in a fresh folder, which creates the schema with Alembic;
  its RSS and its children's (the mail reader, once a mail came) a few seconds after
  it says it is running;
- idle, restart: the same daemon started again on that database (as every start after
  the first: the schema is at HEAD and Alembic stays unloaded);
- after load: the restarted daemon once `--mails` mails came through the listener, their
  confirmations were written and each ticket's status page was asked for twice;
- one big mail: `maildesk ingest` of a mail with one `--attachment-mb` attachment,
  each process's peak RSS (the command's and its reader's, read as the kernel's
  accounting of finished children) against `maildesk ingest` of a small mail in the
  same run, each on a fresh `--database`; the difference is what the attachment cost,
  given as a multiple of the mail's size. Also `parse_mail` alone on that mail, its peak
  under tracemalloc.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generate_history import database_url, drop  # noqa: E402

from maildesk.inbound.parse import parse_mail  # noqa: E402

MB = 1024 * 1024

# Runs its arguments as a child and prints the largest peak RSS (KiB) among the processes
# it waited for: Linux keeps a process's RSS peak across fork and exec, so the launcher
# must be small.
LAUNCHER = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """The RSS of `pid` and of every process under it."""
    total = 0
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    total += int(found.group(1)) if found else 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += rss_kib(int(child))
    return total


def a_mail(n: int, attachment: bytes = b"") -> bytes:
    mail = EmailMessage()
    mail["From"] = f"vecina{n}@correo.example"
    mail["To"] = "soporte@localhost"
    mail["Subject"] = f"Fuga de agua en el depto {400 + n}"
    mail["Message-ID"] = f"<bench-memory-{n}-{time.monotonic_ns()}@correo.example>"
    mail.set_content(f"Hola, hay una fuga en el baño del depto {400 + n}, torre B. Ñandú.")
    if attachment:
        mail.add_attachment(
            attachment, maintype="application", subtype="octet-stream", filename="planos.bin"
        )
    return mail.as_bytes()


def config_in(folder: Path, listen: int, web: int, database: str | None = None) -> Path:
    path = folder / "maildesk.toml"
    path.write_text(
        f'[desk]\nsecret_key = "{"m" * 40}"\n'
        + (f'database = "{database}"\n' if database else "")
        + f'[listener]\nlisten = "127.0.0.1:{listen}"\n'
        f'[web]\nlisten = "127.0.0.1:{web}"\n'
        "[limits]\nparse_memory_mb = 2048\n",
        encoding="utf-8",
    )
    return path


def started(folder: Path, config: Path) -> subprocess.Popen[bytes]:
    """`maildesk run` on `config`, once it says it is running and has settled for 3 s."""
    log_path = folder / "daemon.log"
    with log_path.open("w") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "maildesk", "--config", str(config), "run"],
            cwd=ROOT,  # `-m maildesk` imports the maildesk of this tree
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    deadline = time.monotonic() + 120
    while "maildesk is running" not in log_path.read_text():
        assert daemon.poll() is None and time.monotonic() < deadline, "no start"
        time.sleep(0.2)
    time.sleep(3)
    return daemon


def stopped(daemon: subprocess.Popen[bytes]) -> None:
    daemon.terminate()
    daemon.wait(timeout=60)


def daemon_memory(mails: int) -> tuple[float, float, float]:
    """(idle at the first start, idle at a restart, after load) RSS in MB of `maildesk run`
    and its children."""
    with tempfile.TemporaryDirectory(prefix="maildesk-memory-") as tmp:
        folder = Path(tmp)
        listen, web = free_port(), free_port()
        config = config_in(folder, listen, web)
        daemon = started(folder, config)
        try:
            first = rss_kib(daemon.pid) / 1024
        finally:
            stopped(daemon)
        daemon = started(folder, config)
        try:
            deadline = time.monotonic() + 120
            idle = rss_kib(daemon.pid) / 1024
            with smtplib.SMTP("127.0.0.1", listen) as relay:
                for n in range(mails):
                    relay.sendmail(f"vecina{n}@correo.example", ["soporte@localhost"], a_mail(n))
            outbox = folder / "data" / "outbox"
            while len(list(outbox.glob("*.eml"))) < mails:
                assert daemon.poll() is None and time.monotonic() < deadline + 300, "no mail"
                time.sleep(0.2)
            links = set()
            for eml in outbox.glob("*.eml"):
                links.update(re.findall(rb"/t/[A-Za-z0-9_-]{22,64}", eml.read_bytes()))
            for link in sorted(links) * 2:
                with urllib.request.urlopen(f"http://127.0.0.1:{web}{link.decode()}") as page:
                    page.read()
            time.sleep(1)
            loaded = rss_kib(daemon.pid) / 1024
        finally:
            stopped(daemon)
    return first, idle, loaded


def ingest_peak(raw: bytes, database: str) -> float:
    """The largest peak RSS (MB) among `maildesk ingest`'s processes for `raw`, stored in a
    fresh `database` (sqlite or postgresql)."""
    with tempfile.TemporaryDirectory(prefix="maildesk-memory-") as tmp:
        folder = Path(tmp)
        url, pg_name = database_url(database, folder)
        try:
            config = config_in(folder, free_port(), free_port(), url)
            (folder / "mail.eml").write_bytes(raw)
            base = [sys.executable, "-m", "maildesk", "--config", str(config)]
            subprocess.run([*base, "db", "upgrade"], check=True, capture_output=True, cwd=ROOT)
            done = subprocess.run(
                [sys.executable, "-c", LAUNCHER, *base, "ingest", str(folder / "mail.eml")],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
        finally:
            drop(pg_name)
        attachments = list((folder / "data" / "attachments").rglob("*"))
        assert any(p.is_file() for p in attachments) or b"planos.bin" not in raw, "not stored"
    return int(done.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=50)
    parser.add_argument("--attachment-mb", type=float, default=25.0)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    first, idle, loaded = daemon_memory(args.mails)
    print(f"daemon idle RSS, first start (migrates)   : {first:7.1f} MB")
    print(f"daemon idle RSS, restart (with children)  : {idle:7.1f} MB")
    print(f"daemon RSS after {args.mails} mails and their pages : {loaded:7.1f} MB")
    big = a_mail(0, os.urandom(int(args.attachment_mb * MB)))
    small = a_mail(1)
    mail_mb = len(big) / MB
    tracemalloc.start()
    parse_mail(big)
    _, parse_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"mail: {mail_mb:.1f} MB ({args.attachment_mb:g} MB attachment, base64), "
        f"database: {args.database}"
    )
    print(
        f"parse_mail alone, tracemalloc peak             : {parse_peak / MB:7.1f} MB"
        f"   {parse_peak / len(big):4.1f}x the mail"
    )
    small_peak, big_peak = ingest_peak(small, args.database), ingest_peak(big, args.database)
    print(f"baseline  maildesk ingest small mail, peak RSS : {small_peak:7.1f} MB")
    print(f"maildesk  ingest big mail, peak RSS            : {big_peak:7.1f} MB")
    extra = big_peak - small_peak
    print(f"attachment's cost: +{extra:.1f} MB, {extra / mail_mb:.1f}x the mail")


if __name__ == "__main__":
    main()
