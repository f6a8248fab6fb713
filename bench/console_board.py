"""How fast the staff console's board answers with 100,000 tickets in the database.

    .venv/bin/python bench/console_board.py [--tickets 100000] [--database sqlite|postgresql]
                                            [--clients 8] [--seconds 10]

Fills a fresh database with N tickets (a fifth of them open, spread over a year, across
teams, priorities, assignees and channels, some of them overdue), serves the real
`create_app` with waitress on a loopback port (4 threads, as `maildesk run` does),
signs in through a real one-time link, and then, from a separate process, keeps
`--clients` keep-alive connections busy for `--seconds` on each of:

- baseline: a route of the same app and server that answers a fixed string;
- board: `/staff/tickets` signed in (open tickets, counts per state, 50 rows with SLA).

Prints requests per second and the 99th percentile latency of both, and their ratio.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import random
import re
import secrets
import shlex
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.request import HTTPCookieProcessor, build_opener

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text, update  # noqa: E402
from waitress.server import create_server  # noqa: E402

from maildesk import config as config_mod  # noqa: E402
from maildesk.context import open_desk  # noqa: E402
from maildesk.models import Desk as DeskRow  # noqa: E402
from maildesk.models import Ticket  # noqa: E402
from maildesk.web import create_app, staff_links  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_history import database_url, drop  # noqa: E402

STAFF = "ana@alameda.example"
TEAMS = ["mantenimiento", "administración", "seguridad", "recepción"]
CATEGORIES = ["mantenimiento", "convivencia", "seguridad", "paquetería", "administración"]
STATES = ["recibido", "en_progreso", "en_espera", "validacion"]
SUBJECTS = ["Fuga de agua en el baño", "Ruido después de las 23:00", "Portón no abre"]


def fill(desk_url: str, workdir: Path, count: int, now: datetime) -> None:
    """N tickets in batches of 5,000 (core inserts: the board, not the opening, is measured)."""
    desk = open_desk(config_mod.load(workdir / "maildesk.toml"), upgrade=True)
    rng = random.Random(7)
    with desk.db.transaction() as session:
        for start in range(0, count, 5000):
            rows = []
            for n in range(start + 1, min(start + 5000, count) + 1):
                opened = now - timedelta(minutes=rng.randint(1, 525_600))
                is_open = rng.random() < 0.2
                rows.append(
                    {
                        "desk_id": desk.desk_id,
                        "number": n,
                        "subject": f"{rng.choice(SUBJECTS)} — depto {100 + n % 400}",
                        "state": rng.choice(STATES) if is_open else "cerrado",
                        "priority": rng.choice(["alta", "media", "baja"]),
                        "category": rng.choice(CATEGORIES),
                        "team": rng.choice(TEAMS),
                        "channel": rng.choice(["email", "email", "phone", "walk-in"]),
                        "requester_email": f"residente{n}@correo.example",
                        "requester_name": f"Residente Ñúñez {n}",
                        "assignee": STAFF if rng.random() < 0.3 else None,
                        "unit": f"torre B, depto {100 + n % 400}",
                        "status_token": secrets.token_urlsafe(24),
                        "opened_at": opened,
                        "updated_at": opened,
                        "due_at": opened + timedelta(hours=rng.choice([1, 8, 72]))
                        if is_open
                        else None,
                        "resolution": "",
                        "foreign_tags": "",
                    }
                )
            session.execute(insert(Ticket), rows)
        session.execute(update(DeskRow).values(next_number=count + 1))
    if desk.db.is_postgres:  # statistics and visibility map, as autovacuum keeps them
        with desk.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE ticket")
            )
    desk.db.dispose()


def sign_in(base: str, link: str) -> str:
    """Open the link's page and press its button, as a browser would; the Cookie header."""
    jar = CookieJar()
    opener = build_opener(HTTPCookieProcessor(jar))
    page = opener.open(link).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the link's page"
    data = urllib.parse.urlencode({"csrf_token": token.group(1)}).encode()
    board = opener.open(link, data=data)
    assert board.geturl().endswith("/staff/tickets"), board.geturl()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def hammer(
    host: str, port: int, path: str, cookie: str, clients: int, seconds: float
) -> list[float]:
    """`clients` keep-alive connections GETting `path` for `seconds`; every latency."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def run(mine: list[float]) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200 and body, (response.status, body[:200])
            mine.append(time.perf_counter() - t0)
        conn.close()

    threads = [threading.Thread(target=run, args=(m,)) for m in latencies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [x for m in latencies for x in m]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    # BENCH_ARGS, as for `make bench`: the suite's smoke run asks for a small N this way.
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))

    workdir = Path(tempfile.mkdtemp(prefix="maildesk-bench-"))
    url, pg_name = database_url(args.database, workdir)
    try:
        (workdir / "maildesk.toml").write_text(
            f'[desk]\naddress = "soporte@alameda.example"\ndatabase = "{url}"\n'
            f'secret_key = "bench"\nbase_url = "http://127.0.0.1"\n'
            f'data_dir = "{workdir / "data"}"\n'
            f'[[staff]]\nemail = "{STAFF}"\nname = "Ana Pérez"\nrole = "admin"\n'
            'teams = ["mantenimiento"]\n',
            encoding="utf-8",
        )
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        fill(url, workdir, args.tickets, now)
        filled = time.perf_counter() - t0

        logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a full queue is the point
        desk = open_desk(config_mod.load(workdir / "maildesk.toml"), upgrade=True)
        app = create_app(desk)
        app.add_url_rule("/bench/fixed", "bench_fixed", lambda: "ok")
        server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="maildesk")
        port = int(server.effective_port)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        link = staff_links.link_url(desk, staff_links.make_token(desk, STAFF, desk.clock.now()))
        cookie = sign_in(base, link.replace("http://127.0.0.1", base))

        results = {}
        with ProcessPoolExecutor(1) as pool:  # the load comes from another process
            for name, path in (("baseline", "/bench/fixed"), ("board", "/staff/tickets")):
                pool.submit(hammer, "127.0.0.1", port, path, cookie, args.clients, 1.0).result()
                results[name] = pool.submit(
                    hammer, "127.0.0.1", port, path, cookie, args.clients, args.seconds
                ).result()
        server.close()
        desk.db.dispose()
    finally:
        drop(pg_name)

    print(
        f"tickets: {args.tickets}, database: {args.database}, "
        f"clients: {args.clients}, {args.seconds:g} s each, waitress 4 threads"
    )
    print(f"(filled in {filled:.1f} s)")
    for name, label in (
        ("baseline", "fixed-string route  "),
        ("board", "/staff/tickets (50 rows)"),
    ):
        values = results[name]
        print(
            f"{label:<26}: {len(values) / args.seconds:8.1f} req/s   "
            f"p99 {p99(values) * 1000:7.1f} ms"
        )
    ratio = len(results["board"]) / len(results["baseline"])
    print(f"ratio board/baseline: {ratio:.3f}")


if __name__ == "__main__":
    main()
