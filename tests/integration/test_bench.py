"""The report benchmarks run end to end with a tiny history and print their figures (no thresholds)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MAILDESK_TEST_PG": PG_ADMIN_URL},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_generate_history_fills_a_desk_with_a_year(tmp_path: Path) -> None:
    """`generate_history.py` writes a desk whose `maildesk report` counts the tickets it generated."""
    out = run(
        "generate_history.py",
        "--tickets",
        "40",
        "--messages",
        "120",
        "--dir",
        str(tmp_path),
    )
    assert re.search(r"tickets: 40, messages: 120, events: \d+, database: sqlite", out)
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "maildesk",
            "--config",
            str(tmp_path / "maildesk.toml"),
            "report",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--by",
            "month",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    volume = json.loads(report.stdout)["tables"]["volume_by_period"]
    assert sum(row["opened"] for row in volume) == 40


def test_report_speed_prints_its_figures_on_both_databases(pg_database: str) -> None:  # noqa: ARG001
    """`report_speed.py` prints the baselines, the report's time and the ratio for SQLite and PostgreSQL."""
    out = run(
        "report_speed.py",
        "--tickets",
        "40",
        "--messages",
        "120",
        "--repeat",
        "1",
    )
    for database in ("sqlite", "postgresql"):
        assert f"database: {database}" in out
    assert len(re.findall(r"ratio report/full scan: \d+\.\d\d", out)) == 2
    assert len(re.findall(r"baseline  full scan .*: +\d+\.\d{3} s", out)) == 2


def test_escalation_pass_prints_its_figures_and_agrees_with_the_old_scan() -> None:
    """`escalation_pass.py` times the old full scan, the first and a steady pass; the first
    pass records exactly the escalations the old scan finds, and a minute later none are new."""
    out = run("escalation_pass.py", "--tickets", "60", "--open", "20")
    assert re.search(r"tickets: 60, open: 20, ", out)
    found = dict(re.findall(r"(baseline|first pass|steady pass).*: +\d+\.\d{3} s +(\d+)", out))
    assert found["baseline"] == found["first pass"] != "0"
    assert found["steady pass"] == "0"
    assert re.search(r"ratio steady pass/baseline: \d+\.\d{4}", out)


def test_ticket_list_prints_time_and_memory_against_the_old_list() -> None:
    """`ticket_list.py` runs the old unpaged list, a page and the JSON, each with its peak RSS."""
    out = run("ticket_list.py", "--tickets", "60")
    assert len(re.findall(r": +\d+\.\d{3} s +\d+\.\d MB peak", out)) == 4
    assert re.search(r"ratio page/baseline: time \d+\.\d{3}, memory \d+\.\d\d", out)


def test_page_bench_serves_the_status_page_against_a_bare_waitress() -> None:
    """`page.py` loads the real `maildesk run --only web` and a bare waitress and prints both and the ratio."""
    out = run(
        "page.py",
        *("--tickets", "40", "--messages", "80", "--pages", "5"),
        *("--seconds", "1", "--connections", "2", "--client", "python"),
    )
    rows = re.findall(
        r": +(\d+) req/s +p50 +[\d.]+ ms +p99 +[\d.]+ ms +\((\d+) requests, (\d+) not 200\)", out
    )
    assert len(rows) == 2, out
    assert all(int(requests) > 0 and bad == "0" for _, requests, bad in rows), out
    assert re.search(r"ratio maildesk/bare: \d+\.\d\d", out)


def test_startup_bench_times_help_and_ticket_list_against_a_bare_interpreter() -> None:
    """`startup.py` prints the median of `python -c pass`, `maildesk --help` and `ticket list`."""
    out = run("startup.py", "--tickets", "20", "--runs", "1")
    assert len(re.findall(r": +\d+\.\d{3} s +ratio to baseline +\d+\.\d", out)) == 3, out


def test_memory_bench_prints_idle_loaded_and_big_mail_figures() -> None:
    """`memory.py` measures the daemon idle and after mail, and one mail with a big attachment."""
    out = run("memory.py", "--mails", "3", "--attachment-mb", "1")
    assert re.search(r"daemon idle RSS .*: +\d+\.\d MB", out), out
    assert re.search(r"daemon RSS after 3 mails .*: +\d+\.\d MB", out), out
    assert re.search(r"attachment's cost: \+-?\d+\.\d MB, -?\d+\.\dx the mail", out), out


def test_workers_bench_prints_one_and_two_workers_of_each() -> None:
    """`workers.py` carries a few mails through 1+1 and 2+2 fetch and outbox processes on
    PostgreSQL, and prints both rates and their ratio."""
    out = run("workers.py", "--mails", "6")
    assert "mails: 6, database: postgresql" in out
    assert re.search(r"baseline  1 fetch \+ 1 outbox worker +: +\d+\.\d\d s +\d+\.\d mails/s", out)
    assert re.search(r"maildesk  2 fetch \+ 2 outbox workers +: +\d+\.\d\d s +\d+\.\d mails/s", out)
    assert re.search(r"ratio 2\+2 / 1\+1: \d+\.\d\d", out)


def test_metrics_scrape_prints_its_figures_on_both_databases(pg_database: str) -> None:  # noqa: ARG001
    """`metrics_scrape.py` times one `/metrics` scrape against a count of the tickets."""
    out = run("metrics_scrape.py", "--tickets", "40", "--messages", "80", "--repeat", "1")
    for database in ("sqlite", "postgresql"):
        assert f"stored mails: 80, outbox: 40, database: {database}" in out
    assert len(re.findall(r"/metrics scrape \(\d+ bytes\) : +\d+\.\d ms", out)) == 2
    assert len(re.findall(r"ratio scrape/baseline: \d+\.\d", out)) == 2


def test_fetch_throughput_times_the_import_against_the_fetch_and_the_parse_floor() -> None:
    """`fetch_throughput.py` imports a few mails and prints its rate beside both baselines."""
    out = run("fetch_throughput.py", "--mails", "6", "--batch", "4")
    assert re.search(r"floor     fetch \+ stdlib parse, all parts: +[\d.]+ s +[\d.]+ mails/s", out)
    assert re.search(r"ratio maildesk/floor: \d+\.\d{3}", out)


def test_fetch_throughput_times_django_helpdesk_on_the_same_mails() -> None:
    """`--peer django-helpdesk` installs django-helpdesk in a venv of its own (from PyPI, once),
    and its `get_email` imports every mail from the bench's Dovecot over plain IMAP: a ticket,
    a follow-up and a built confirmation each, the photos as attachments, nothing left behind."""
    out = run("fetch_throughput.py", "--mails", "6", "--batch", "4", "--peer", "django-helpdesk")
    assert re.search(
        r"peer      django-helpdesk 2\.6\.1 get_email: +-?[\d.]+ s +-?[\d.]+ mails/s", out
    )
    assert (
        "peer      imported: 6 tickets, 6 follow-ups, 2 attachments, 6 confirmations;"
        " 0 mails left on the server, 0 error lines"
    ) in out, out
    assert "failed on" not in out
    assert re.search(r"ratio maildesk/django-helpdesk: -?\d+\.\d{3}", out)


def test_latency_times_confirmations_against_the_relay_and_the_push_delay() -> None:
    """`latency.py` prints p50/p99/max for the listener (steady, burst) and IDLE, and its baselines."""
    out = run("latency.py", "--mails", "3", "--burst", "5")
    for line in ("relay round trip", "listener  steady", "listener  burst", "push delay", "IDLE"):
        assert re.search(rf"{line}.*p50 +[\d.]+ s +p99 +[\d.]+ s +max +[\d.]+ s", out), line
    assert re.search(r"last confirmation after last acceptance: +-?[\d.]+ s", out)
    assert re.search(r"ratio listener p50 / relay p50: [\d.]+", out)
