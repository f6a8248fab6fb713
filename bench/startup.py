"""How long `maildesk --help` and `maildesk ticket list` take to start, against `python -c pass`.

    .venv/bin/python bench/startup.py [--tickets 1000] [--runs 7]

Generates a small history (`generate_history.generate`: `ticket list` shows its first
page either way) and runs each command as a process of its own, `--runs` times in turn
with the baseline, after one warm-up each; prints the median seconds of each and its
ratio to the bare interpreter's start in the same run. The floor is what any command
that reads tickets through the ORM pays before maildesk's own code: importing
SQLAlchemy's ORM and its SQLite dialect.

The warm-up writes the tree's bytecode even where PYTHONDONTWRITEBYTECODE is set, as
an installed wheel has it: otherwise every run compiles maildesk's sources again.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_history import generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


FLOOR = "import sqlalchemy.orm, sqlalchemy.dialects.sqlite"


def seconds(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(
        argv,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,  # `-m maildesk` imports the maildesk of this tree
        env=env,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", "")))
    with tempfile.TemporaryDirectory(prefix="maildesk-startup-") as tmp:
        made = generate(Path(tmp), tickets=args.tickets, messages=args.tickets)
        made.desk.db.dispose()
        config = str(Path(tmp) / "maildesk.toml")
        commands = {
            "baseline  python -c pass": [sys.executable, "-c", "pass"],
            "floor     import the ORM": [sys.executable, "-c", FLOOR],
            "maildesk  --help": [sys.executable, "-m", "maildesk", "--help"],
            "maildesk  ticket list": [
                *(sys.executable, "-m", "maildesk", "--config", config),
                *("ticket", "list"),
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        writing = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for argv in commands.values():
            seconds(argv, writing)  # warm-up: the file cache and the bytecode
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(seconds(argv))
    print(f"tickets: {made.tickets}, runs: {args.runs} (median seconds)")
    base = statistics.median(times["baseline  python -c pass"])
    floor = statistics.median(times["floor     import the ORM"])
    for name, found in times.items():
        median = statistics.median(found)
        print(f"{name:<28}: {median:7.3f} s   ratio to baseline {median / base:5.1f}")
    listing = statistics.median(times["maildesk  ticket list"])
    print(f"ticket list over the floor: {listing - floor:.3f} s")


if __name__ == "__main__":
    main()
