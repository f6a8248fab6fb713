"""Setting a desk up: the starter configuration and the database schema."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from maildesk.cli.common import desks_of


def cmd_init(args: argparse.Namespace) -> int:
    from maildesk import config as config_mod
    from maildesk.config_schema import starter_config
    from maildesk.context import open_install

    target = Path(args.dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / "maildesk.toml"
    if path.exists() and not args.force:
        print(f"{path} exists; keeping it (use --force to overwrite). Upgrading the database.")
    else:
        overrides = {}
        if args.data_dir:
            # Everything the daemon writes goes there, apart from the (read-only) config.
            state = Path(args.data_dir).resolve()
            overrides = {
                "desk.data_dir": str(state),
                "desk.database": f"sqlite:///{state}/maildesk.db",
            }
        text = starter_config(secrets.token_urlsafe(32), overrides=overrides)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        print(f"wrote {path}")
    open_install(config_mod.load_install(path), upgrade=True)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    desks_of(args, upgrade=True)
    return 0
