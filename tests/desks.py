"""Two buildings in one install (`[[desks]]`), for the tests of several desks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

NORTE, SUR = "soporte@norte.example", "soporte@sur.example"
ANA = "ana@norte.example"  # staff of Torre Norte only
BETO = "beto@sur.example"  # staff of Torre Sur only
GERENTE = "gerente@firma.example"  # manager of both (top-level [[staff]])
TEAMS = ["mantenimiento", "administración"]


def install_toml(
    folder: Path,
    database_url: str,
    secret: str,
    top: dict[str, Any] | None = None,
    **per_desk: dict[str, Any],
) -> Path:
    """A maildesk.toml with Torre Norte and Torre Sur; `norte=`/`sur=` add keys to each,
    `top` adds top-level tables."""
    desks = [
        {
            "slug": "norte",
            "name": "Torre Norte",
            "address": NORTE,
            "base_url": "https://norte.example",
            "staff": [{"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": TEAMS}],
            **per_desk.get("norte", {}),
        },
        {
            "slug": "sur",
            "name": "Torre Sur",
            "address": SUR,
            "base_url": "https://sur.example",
            "language": "es",
            "staff": [{"email": BETO, "name": "Beto Ñúñez", "role": "agent", "teams": TEAMS}],
            **per_desk.get("sur", {}),
        },
    ]
    data = {
        "desk": {
            "database": database_url,
            "data_dir": str(folder / "data"),
            "secret_key": secret,
        },
        "staff": [
            {"email": GERENTE, "name": "Gerencia", "role": "manager", "teams": ["administración"]}
        ],
        "desks": desks,
        **(top or {}),
    }
    path = folder / "maildesk.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path
