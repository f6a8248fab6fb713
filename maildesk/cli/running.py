"""The daemon and its passes run once: `run`, `fetch`, `escalate`."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any

from maildesk.cli.common import EX_CONFIG, EX_TEMPFAIL, desks_of, install_of, log

if TYPE_CHECKING:  # the commands import what they use: `maildesk --help` stays quick
    from maildesk.context import Desk


def _install_signals(stop: Any) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _serve(desks: tuple[Desk, ...], parts: tuple[str, ...]) -> int:
    """Run the daemon's `parts` for `desks` until SIGTERM or SIGINT, then stop them cleanly."""
    from maildesk.cli import read as views
    from maildesk.daemon import Daemon

    daemon = Daemon(desks, parts)
    _install_signals(daemon.stop)
    try:
        daemon.start()
        log.info(views.startup_banner(desks, parts))
        while not daemon.stop.wait(1.0):
            pass
    finally:
        daemon.shutdown()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from maildesk.daemon import PARTS

    parts = tuple(p.strip() for p in args.only.split(",")) if args.only else PARTS
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        print(
            f"--only: unknown part {', '.join(unknown)}; expected some of {', '.join(PARTS)}",
            file=sys.stderr,
        )
        return 2
    return _serve(desks_of(args, upgrade=True), parts)


def cmd_fetch(args: argparse.Namespace) -> int:
    from maildesk.daemon import fetch_once

    desks = tuple(d for d in desks_of(args) if d.config.imap is not None)
    if not desks:
        print(
            f"{install_of(args).desks[0].source}: imap.host: expected an [imap] section to"
            " fetch from, got nothing",
            file=sys.stderr,
        )
        return 1
    if args.once:
        from maildesk.inbound.sources.imap import MailboxError

        for desk in desks:
            try:
                stored = fetch_once(desk)
            except MailboxError as exc:
                print(f"{desk.config.source}: {exc}", file=sys.stderr)
                return EX_CONFIG if exc.lasting else EX_TEMPFAIL
            print(f"stored {stored} new mail(s)" + (f" ({desk.slug})" if len(desks) > 1 else ""))
        return 0
    return _serve(desks, ("fetch",))


def cmd_escalate(args: argparse.Namespace) -> int:
    from maildesk.sla.jobs import tick

    for desk in desks_of(args):
        report = tick(desk)
        where = f" ({desk.slug})" if desk.neighbours and args.desk is None else ""
        if report.skipped:
            print(f"another worker is running the escalation pass; skipped{where}")
        else:
            print(f"{report.escalations} escalation(s), {report.mails} mail(s) queued{where}")
    return 0
