"""The status page under load, against a bare waitress serving a page of the same size.

    .venv/bin/python bench/page.py --tickets 100000 --messages 500000 [--seconds 10]

Generates the history (`generate_history.generate`), starts the real
`maildesk run --only web` on it and, in the same run, a bare waitress app (four threads,
as maildesk's) that answers every request with a static body as long as maildesk's page.
Each is loaded with `--connections` keep-alive connections over `--pages` tickets' status
pages, in turn, for `--seconds` (after a warm-up of one round over the pages): with
`wrk` when it is installed, else with a load generator of threads and `http.client`
here. A browser sends its session cookie back, so the load does too (taken from a first
visit): after the warm-up each view is a cache hit, answered in front of Flask
(`maildesk/web/fast_page.py`). Prints req/s, p50 and p99 for each and the ratio
maildesk / bare.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_history import drop, generate  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from maildesk.models import Message, Ticket  # noqa: E402

BARE = textwrap.dedent(
    """
    import sys
    from waitress import serve
    body = b"x" * int(sys.argv[2])
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=4, _quiet=True)
    """
)


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, path: str, timeout: float = 60.0) -> tuple[bytes, str]:
    """The first answer of `path` (body, session cookie) once the server listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                cookie = answer.headers.get("Set-Cookie", "").split(";", 1)[0]
                return answer.read(), cookie
        except urllib.error.HTTPError:
            raise
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def python_load(port: int, paths: list[str], cookie: str, connections: int, seconds: float) -> Load:
    """`connections` threads, each one keep-alive connection, for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop = time.monotonic() + seconds
    headers = {"Cookie": cookie} if cookie else {}

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = n
        while time.monotonic() < stop:
            started = time.perf_counter()
            conn.request("GET", paths[i % len(paths)], headers=headers)
            answer = conn.getresponse()
            answer.read()
            latencies[n].append(time.perf_counter() - started)
            errors[n] += answer.status != 200
            i += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    every = sorted(x for one in latencies for x in one)
    return Load(
        requests=len(every),
        seconds=elapsed,
        p50_ms=every[len(every) // 2] * 1000,
        p99_ms=every[int(len(every) * 0.99)] * 1000,
        errors=sum(errors),
    )


WRK_SCRIPT = """
paths = {%s}
i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["Cookie"] = "%s"})
end
"""


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    assert found, f"not a wrk duration: {text!r}"
    return float(found.group(1)) * _UNIT_MS[found.group(2)]


def wrk_load(port: int, paths: list[str], cookie: str, connections: int, seconds: float) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), cookie))
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(2, connections)}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    if os.environ.get("BENCH_VERBOSE"):
        print(out)
    done = re.search(r"(\d+) requests in ([\d.]+)(s|ms|m)", out)
    assert done, out
    spent = float(done.group(2)) * {"s": 1.0, "ms": 0.001, "m": 60.0}[done.group(3)]
    # The latency distribution's rows, not a "+/- Stdev" column that also ends in a percent.
    p50 = re.search(r"^\s+50%\s+(\S+)$", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)$", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert p50 and p99, out
    return Load(
        requests=int(done.group(1)),
        seconds=spent,
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        errors=int(bad.group(1)) if bad else 0,
    )


def busiest_pages(config_dir: Path, url_count: int, seed: int) -> list[str]:
    """Status paths of `url_count` tickets chosen at random among those with messages."""
    from maildesk import config as config_mod
    from maildesk.context import open_desk

    desk = open_desk(config_mod.load(config_dir / "maildesk.toml"), upgrade=False)
    with desk.db.read_only() as session:
        tokens = list(
            session.scalars(
                select(Ticket.status_token)
                .join(Message, Message.ticket_id == Ticket.id)
                .group_by(Ticket.id, Ticket.status_token)
                .having(func.count(Message.id) >= 1)
                .order_by(Ticket.id)
            )
        )
    desk.db.dispose()
    return [f"/t/{t}" for t in random.Random(seed).sample(tokens, min(url_count, len(tokens)))]


def report(name: str, load: Load) -> None:
    print(
        f"{name:<28}: {load.per_second:9.0f} req/s   p50 {load.p50_ms:6.2f} ms"
        f"   p99 {load.p99_ms:6.2f} ms   ({load.requests} requests, {load.errors} not 200)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--pages", type=int, default=50, help="tickets whose pages are asked")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--client", choices=["wrk", "python"], default=None)
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    client = args.client or ("wrk" if shutil.which("wrk") else "python")
    load = wrk_load if client == "wrk" else python_load
    workdir = Path(tempfile.mkdtemp(prefix="maildesk-page-"))
    made = generate(workdir, tickets=args.tickets, messages=args.messages, database=args.database)
    made.desk.db.dispose()
    print(
        f"tickets: {made.tickets}, messages: {made.messages}, database: {args.database},"
        f" {args.connections} connections, {args.pages} pages"
    )
    print(f"load from: {client}")
    paths = busiest_pages(workdir, args.pages, seed=7)
    port, bare_port = free_port(), free_port()
    config = workdir / "maildesk.toml"
    with config.open("a", encoding="utf-8") as f:
        f.write(f'\n[web]\nlisten = "127.0.0.1:{port}"\n')
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "maildesk", "--config", str(config), "run", "--only", "web"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,  # `-m maildesk` imports the maildesk of this tree
        )
    ]
    try:
        page, cookie = wait_for(port, paths[0])
        servers.append(
            subprocess.Popen(
                [sys.executable, "-c", BARE, str(bare_port), str(len(page))],
                stderr=subprocess.DEVNULL,  # waitress warns of its queue under load
            )
        )
        wait_for(bare_port, "/")
        for path in paths:  # warm-up: every page rendered once
            wait_for(port, path)
        bare = load(bare_port, paths, "", args.connections, args.seconds)
        ours = load(port, paths, cookie, args.connections, args.seconds)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        drop(made.pg_name)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"page size: {len(page)} bytes")
    report("bare waitress, static body", bare)
    report("maildesk /t/<token>", ours)
    print(f"ratio maildesk/bare: {ours.per_second / bare.per_second:.2f}")


if __name__ == "__main__":
    main()
