"""How long a resident waits: from their mail's acceptance to the confirmation at the relay.

    .venv/bin/python bench/latency.py [--mails 50] [--burst 100] [--database sqlite|postgresql]

Starts its own aiosmtpd relay and Dovecot, and the real `maildesk run` as a process (the
listener and the outbox for the listener runs; the IMAP watcher with IDLE and the outbox
for the IDLE run), and times, per mail, from acceptance to the confirmation reaching the
relay:

- baseline (relay): a bare `smtplib` send to the relay, the round trip alone;
- listener steady: one mail at a time over SMTP to the listener; acceptance is the
  listener's 250 to our DATA;
- listener burst: `--burst` mails at once (four senders in parallel); the figure is the
  last confirmation after the last acceptance;
- baseline (IDLE): Dovecot's own push delay, from APPEND's OK to an IDLE client's EXISTS;
- IDLE steady: one mail at a time appended to the mailbox; acceptance is APPEND's OK.

Prints p50, p99 and max per run, and each steady p50 over its baseline's.
"""

from __future__ import annotations

import argparse
import os
import shlex
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_history import database_url, drop  # noqa: E402

from tests.mails import DESK, make_mail  # noqa: E402
from tests.servers import Dovecot, Relay, free_port  # noqa: E402


class TimedRelay(Relay):
    """The test relay, noting when each recipient's mail arrived (monotonic seconds)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        super().__init__()

    def _receive(self, session: Any, envelope: Any) -> str:
        answer = super()._receive(session, envelope)
        now = time.monotonic()
        with self._changed:
            for rcpt in envelope.rcpt_tos:
                self.arrived.setdefault(str(rcpt).lower(), now)
            self._changed.notify_all()
        return answer

    def wait_arrival(self, recipient: str, timeout: float) -> float:
        with self._changed:
            if not self._changed.wait_for(lambda: recipient in self.arrived, timeout):
                raise AssertionError(f"no confirmation for {recipient} in {timeout} s")
            return self.arrived[recipient]


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered):6.3f} s  p99 {p99:6.3f} s  max {ordered[-1]:6.3f} s"
        f"  (n={len(ordered)})"
    )


def resident_mail(tag: str, i: int) -> tuple[str, bytes]:
    sender = f"residente-{tag}-{i}@correo.example"
    return sender, make_mail(
        sender=sender,
        sender_name=f"Residente Ñúñez {i}",
        subject=f"Fuga de agua en el baño — depto {100 + i}",
        body="Hola, hay una fuga de agua en el baño. Quedo atenta, gracias.\n",
        message_id=f"<latency-{tag}-{i}@correo.example>",
    )


def relay_baseline(relay: TimedRelay, count: int) -> list[float]:
    """A bare SMTP send to the relay, from connect to its 250 (the floor of any confirmation)."""
    times = []
    for i in range(count):
        t0 = time.monotonic()
        with smtplib.SMTP(relay.host, relay.port) as smtp:
            smtp.sendmail(DESK, [f"baseline{i}@correo.example"], b"Subject: x\r\n\r\nx\r\n")
        times.append(time.monotonic() - t0)
    return times


def send_to_listener(port: int, sender: str, raw: bytes) -> float:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.sendmail(sender, [DESK], raw)
        return time.monotonic()


def listener_steady(relay: TimedRelay, port: int, count: int) -> list[float]:
    times = []
    for i in range(count):
        sender, raw = resident_mail("steady", i)
        accepted = send_to_listener(port, sender, raw)
        times.append(relay.wait_arrival(sender, 60) - accepted)
    return times


def listener_burst(relay: TimedRelay, port: int, count: int) -> tuple[float, float, list[float]]:
    """The last confirmation after the last acceptance, and after the first mail was sent."""
    mails = [resident_mail("burst", i) for i in range(count)]
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        accepted = list(pool.map(lambda m: send_to_listener(port, *m), mails))
    arrivals = [relay.wait_arrival(sender, 120) for sender, _ in mails]
    each = [a - b for a, b in zip(arrivals, accepted, strict=True)]
    return max(arrivals) - max(accepted), max(arrivals) - started, each


def push_baseline(dovecot: Dovecot, user: str, count: int) -> list[float]:
    """Dovecot's own push delay: APPEND's OK to an IDLE client's EXISTS."""
    watcher = dovecot.client(user)
    watcher.select_folder("INBOX")
    times = []
    for i in range(count):
        watcher.idle()
        _, raw = resident_mail("push", i)
        with dovecot.session(user) as client:
            client.append("INBOX", raw)
        appended = time.monotonic()
        while not any(b"EXISTS" in r for r in watcher.idle_check(timeout=10)):
            pass
        times.append(time.monotonic() - appended)
        watcher.idle_done()
    watcher.logout()
    return times


def idle_steady(relay: TimedRelay, dovecot: Dovecot, user: str, count: int) -> list[float]:
    times = []
    with dovecot.session(user) as client:
        for i in range(count):
            sender, raw = resident_mail("idle", i)
            client.append("INBOX", raw)
            appended = time.monotonic()
            times.append(relay.wait_arrival(sender, 60) - appended)
    return times


@contextmanager
def daemon(workdir: Path, config: str, parts: str) -> Iterator[None]:
    """`maildesk run --only PARTS` on `config`, until the block ends (then SIGTERM)."""
    path = workdir / f"{parts.replace(',', '-')}.toml"
    path.write_text(config)
    maildesk = [sys.executable, "-m", "maildesk", "--config", str(path)]
    subprocess.run([*maildesk, "db", "upgrade"], check=True, cwd=workdir, capture_output=True)
    log = (workdir / f"{path.stem}.log").open("wb")
    process = subprocess.Popen(
        [*maildesk, "run", "--only", parts], cwd=workdir, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready in {timeout} s")
        time.sleep(0.05)


def listening(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
                smtp.noop()
            return True
        except OSError:
            return False

    return ready


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mails", type=int, default=50, help="mails per steady run")
    parser.add_argument("--burst", type=int, default=100, help="mails in the burst")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(
        sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")) if argv is None else argv
    )

    workdir = Path(tempfile.mkdtemp(prefix="maildesk-latency-"))
    url, pg_name = database_url(args.database, workdir)
    listen = free_port()
    relay = TimedRelay()
    with relay, Dovecot() as dovecot:
        dovecot.add_user("desk", "desk-password")
        dovecot.add_user("push", "push-password")
        base = (
            f'[desk]\naddress = "{DESK}"\ndatabase = "{url}"\nsecret_key = "bench"\n'
            f'[smtp]\nhost = "{relay.host}"\nport = {relay.port}\nsecurity = "none"\n'
        )
        relay_times = relay_baseline(relay, args.mails)
        listener = base + f'[listener]\nlisten = "127.0.0.1:{listen}"\n'
        with daemon(workdir, listener, "listener,outbox"):
            wait_until(listening(listen), "the listener")
            steady = listener_steady(relay, listen, args.mails)
            last, whole, burst = listener_burst(relay, listen, args.burst)
        push = push_baseline(dovecot, "push", args.mails)
        imap = base + (
            f'[imap]\nhost = "{dovecot.host}"\nport = {dovecot.imap_port}\nsecurity = "none"\n'
            'username = "desk"\npassword = "desk-password"\nidle = true\n'
        )
        with daemon(workdir, imap, "fetch,outbox"):
            warm_up(relay, dovecot, "desk")
            idle = idle_steady(relay, dovecot, "desk", args.mails)
    drop(pg_name)

    print(f"database: {args.database}, steady mails: {args.mails}, burst: {args.burst}")
    print(f"baseline  relay round trip (bare SMTP send) : {percentiles(relay_times)}")
    print(f"listener  steady, accepted → confirmed      : {percentiles(steady)}")
    print(f"listener  burst,  accepted → confirmed      : {percentiles(burst)}")
    print(f"listener  burst,  last confirmation after last acceptance: {last:6.3f} s")
    print(f"listener  burst,  last confirmation after the first send : {whole:6.3f} s")
    print(f"baseline  Dovecot push delay (APPEND → IDLE): {percentiles(push)}")
    print(f"IDLE      steady, appended → confirmed      : {percentiles(idle)}")
    ratio = statistics.median(steady) / statistics.median(relay_times)
    print(f"ratio listener p50 / relay p50: {ratio:.1f}")
    print(
        f"IDLE p50 over the push delay: {statistics.median(idle) - statistics.median(push):.3f} s"
    )


def warm_up(relay: TimedRelay, dovecot: Dovecot, user: str, timeout: float = 180) -> None:
    """The watcher starts from the mail there when it first looks: append until one is confirmed."""
    deadline = time.monotonic() + timeout
    i = 0
    while time.monotonic() < deadline:
        sender, raw = resident_mail("warm", i)
        with dovecot.session(user) as client:
            client.append("INBOX", raw)
        try:
            relay.wait_arrival(sender, 3)
            return
        except AssertionError:
            i += 1
    raise AssertionError(f"the IMAP watcher confirmed none of {i} warm-up mails in {timeout} s")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
