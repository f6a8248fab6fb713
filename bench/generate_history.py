"""A year of help-desk history, generated straight into a desk's database.

    .venv/bin/python bench/generate_history.py --tickets 100000 --messages 500000 \
        [--database sqlite|postgresql] [--dir DIR] [--year 2026] [--seed 7]

Writes `DIR/maildesk.toml` for a fresh desk (SQLite in `DIR/maildesk.db`, or a new
PostgreSQL database on `$MAILDESK_TEST_PG`'s server), creates the schema with the real
migrations, then inserts N tickets opened across the year with their lives: the
first answer, waits on the resident, resolutions, rejections and reopenings,
closures with and without success, vendors, ratings with comments, and M messages in
all (at least one per ticket). Rows go in with SQLAlchemy Core `insert()` in batches
(executemany), not through the ORM: this is data for measuring, not a path tickets
take; the desk itself only changes tickets through `maildesk/tickets/`.

The same seed gives the same history. `generate()` is the reusable part: the report
benchmark (bench/report_speed.py) and the test suite's smoke run call it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text, update  # noqa: E402

from maildesk import config as config_mod  # noqa: E402
from maildesk.clock import FixedClock  # noqa: E402
from maildesk.context import Desk, open_desk  # noqa: E402
from maildesk.domain import State  # noqa: E402
from maildesk.models import Desk as DeskRow  # noqa: E402
from maildesk.models import Event, Message, Participant, Ticket  # noqa: E402

PG_ADMIN = os.environ.get("MAILDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH = 10_000
STAFF = [
    ("sofia@alameda.example", "Sofía Rojas", "supervisor", ["mantenimiento"]),
    ("ana@alameda.example", "Ana Pérez", "agent", ["mantenimiento"]),
    ("jose@alameda.example", "José Muñoz", "agent", ["administración"]),
    ("nunez@alameda.example", "Íñigo Núñez", "agent", ["recepción", "seguridad"]),
    ("gerente@alameda.example", "Gerardo Ñancupil", "manager", ["administración"]),
]
CATEGORIES = {
    "mantenimiento": ("mantenimiento", ["Fuga de agua en el baño", "Ascensor detenido"]),
    "convivencia": ("administración", ["Ruido después de las 23:00", "Mascota sin correa"]),
    "seguridad": ("seguridad", ["Portón no cierra", "Alarma del estacionamiento"]),
    "paquetería": ("recepción", ["Paquete en conserjería", "Encomienda perdida"]),
    "accesos": ("seguridad", ["Control remoto del portón", "Tarjeta de acceso"]),
    "amenidades": ("administración", ["Reserva del quincho", "Piscina sin limpiar"]),
    "administración": ("administración", ["Gastos comunes de noviembre", "Certificado"]),
}
VENDORS = [
    "gasfiter@proveedor.example",
    "ascensores@proveedor.example",
    "vidrios@proveedor.example",
]
COMMENTS = [
    "Muy buena atención, gracias.",
    "Tardaron, pero quedó bien.",
    "¡Excelente! Ñandú feliz.",
    "",
]


@dataclass(frozen=True, slots=True)
class Generated:
    desk: Desk
    url: str
    pg_name: str | None
    tickets: int
    messages: int
    events: int
    seconds: float


def database_url(kind: str, workdir: Path) -> tuple[str, str | None]:
    """A fresh empty database: SQLite in `workdir`, or a new PostgreSQL database."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'maildesk.db'}", None
    name = f"maildesk_bench_{os.getpid()}_{time.monotonic_ns()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def drop(pg_name: str | None) -> None:
    if pg_name:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def generated(prefix: str, **options: Any) -> Iterator[Generated]:
    """A history generated (`generate`'s options) in a temporary folder of its own, gone
    after the block with its PostgreSQL database: what each benchmark measures on."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    made = generate(workdir, **options)
    try:
        yield made
    finally:
        made.desk.db.dispose()
        drop(made.pg_name)
        shutil.rmtree(workdir)


def databases(choice: str) -> list[str]:
    """The databases a benchmark's `--database` names: one, or `both`."""
    return ["sqlite", "postgresql"] if choice == "both" else [choice]


def best(run: Callable[[], object], repeat: int) -> float:
    """The least of `repeat` timed runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def open_bench_desk(workdir: Path, url: str, year: int) -> Desk:
    """A desk created at the start of `year`, with staff, on `url` (migrated)."""
    staff = "".join(
        f'[[staff]]\nemail = "{e}"\nname = "{n}"\nrole = "{r}"\nteams = {json.dumps(t)}\n'
        for e, n, r, t in STAFF
    )
    path = workdir / "maildesk.toml"
    path.write_text(
        '[desk]\nname = "Edificio Alameda — Soporte"\naddress = "soporte@alameda.example"\n'
        f'database = "{url}"\nsecret_key = "bench"\n{staff}',
        encoding="utf-8",
    )
    return open_desk(
        config_mod.load(path), clock=FixedClock(datetime(year, 1, 1, tzinfo=UTC)), upgrade=True
    )


def _hours(rng: random.Random, mean: float) -> timedelta:
    return timedelta(hours=rng.expovariate(1 / mean))


def _life(
    rng: random.Random, desk_id: int, ticket_id: int, number: int, opened: datetime, end: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """One ticket's row, events and participants, its life cut at `end`."""
    category = rng.choice(list(CATEGORIES))
    team, subjects = CATEGORIES[category]
    priority = rng.choices(["alta", "media", "baja"], [15, 60, 25])[0]
    members = [e for e, _, _, teams in STAFF if team in teams] or [STAFF[0][0]]
    assignee = rng.choice(members)
    unit = f"torre {rng.choice('ABC')}, depto {rng.randint(1, 20)}{rng.randint(1, 4):02d}"
    events: list[dict[str, Any]] = [
        {"ticket_id": ticket_id, "at": opened, "actor": "", "kind": "created", "detail": ""}
    ]
    state = State.RECIBIDO
    row: dict[str, Any] = {
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "outcome": None,
        "rating": None,
        "rating_comment": "",
        "rated_at": None,
        "assignee": None,
    }

    def move(at: datetime, to: State, action: str = "") -> bool:
        nonlocal state
        if at >= end:
            return False
        detail = {"from": state.value, "to": to.value, "action": action}
        events.append(
            {
                "ticket_id": ticket_id,
                "at": at,
                "actor": assignee,
                "kind": "state",
                "detail": json.dumps(detail),
            }
        )
        state = to
        return True

    at = opened + _hours(rng, 6 if priority != "alta" else 1.5)
    last = opened
    if move(at, State.EN_PROGRESO, "take"):
        row["first_response_at"], row["assignee"], last = at, assignee, at
        alive = True
        if rng.random() < 0.15:  # waits on the resident or a vendor
            at += _hours(rng, 8)
            alive = move(at, State.EN_ESPERA, "wait") and move(
                at := at + _hours(rng, 20), State.EN_PROGRESO, "resume"
            )
        for round_ in range(3):  # resolved, perhaps rejected and resolved again
            if not alive:
                break
            at += _hours(rng, 30)
            if not move(at, State.VALIDACION, "resolve"):
                break
            row["resolved_at"], last = at, at
            if round_ < 2 and rng.random() < 0.08:
                at += _hours(rng, 10)
                if move(at, State.EN_PROGRESO, "reject"):
                    row["resolved_at"], last = None, at
                    continue
                break
            at += _hours(rng, 36)
            if move(at, State.CERRADO, "close"):
                success = rng.random() < 0.92
                row["closed_at"], row["outcome"], last = at, "success" if success else "failure", at
                if rng.random() < 0.4 and at + timedelta(hours=2) < end:
                    row["rating"] = rng.choices([1, 2, 3, 4, 5], [3, 4, 10, 30, 53])[0]
                    row["rating_comment"] = rng.choice(COMMENTS)
                    row["rated_at"] = last = at + timedelta(hours=2)
            break
    participants = [
        {
            "ticket_id": ticket_id,
            "email": f"residente{number % 4000}@correo.example",
            "name": "Residente Ñúñez",
            "role": "requester",
        }
    ]
    if category == "mantenimiento" and rng.random() < 0.3:
        participants.append(
            {"ticket_id": ticket_id, "email": rng.choice(VENDORS), "name": "", "role": "vendor"}
        )
    row.update(
        id=ticket_id,
        desk_id=desk_id,
        number=number,
        subject=f"{rng.choice(subjects)} — {unit}",
        state=state.value,
        priority=priority,
        category=category,
        channel=rng.choices(["email", "phone", "walk-in", "web"], [70, 15, 5, 10])[0],
        requester_email=participants[0]["email"],
        requester_name="Residente Ñúñez",
        team=team,
        unit=unit,
        status_token=f"bench-token-{number:012d}",  # the shape of a real token
        opened_at=opened,
        updated_at=last,
        resolution="",
        foreign_tags="",
        imported=False,
    )
    return row, events, participants


def _messages(
    rng: random.Random, ticket: dict[str, Any], count: int, first_id: int
) -> Iterator[dict[str, Any]]:
    span = max((ticket["updated_at"] - ticket["opened_at"]).total_seconds(), 60.0)
    for i in range(count):
        inbound = i == 0 or rng.random() < 0.5
        yield {
            "id": first_id + i,
            "ticket_id": ticket["id"],
            "direction": "inbound" if inbound else "outbound",
            "kind": "normal" if inbound else "staff_reply",
            "public": True,
            "sender_email": ticket["requester_email"] if inbound else "soporte@alameda.example",
            "sender_name": "",
            "recipients": "",
            "mid": f"<bench-{first_id + i}@alameda.example>",
            "in_reply_to": "",
            "references": "",
            "subject": ticket["subject"],
            "text": "Hola, les escribo por la solicitud. Gracias — año nuevo, ñandú.",
            "html": "",
            "defects": "",
            "created_at": ticket["opened_at"] + timedelta(seconds=span * i / count),
        }


def generate(
    workdir: Path,
    *,
    tickets: int,
    messages: int,
    database: str = "sqlite",
    year: int = 2026,
    seed: int = 7,
) -> Generated:
    """Create a desk in `workdir` and fill it with a year of history; returns it, open."""
    url, pg_name = database_url(database, workdir)
    desk = open_bench_desk(workdir, url, year)
    rng = random.Random(seed)
    start = datetime(year, 1, 1, 3, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, 3, tzinfo=UTC)
    opened = sorted(start + (end - start) * rng.random() for _ in range(tickets))
    per_ticket = [1] * tickets
    for _ in range(max(messages - tickets, 0)):
        per_ticket[rng.randrange(tickets)] += 1
    counts = {"events": 0, "messages": 0}
    t0 = time.perf_counter()
    with desk.db.engine.begin() as conn:
        rows: dict[str, list[dict[str, Any]]] = {
            "ticket": [],
            "event": [],
            "participant": [],
            "message": [],
        }
        tables = {"ticket": Ticket, "event": Event, "participant": Participant, "message": Message}
        message_id = 1

        def flush(force: bool = False) -> None:
            for name in ("ticket", "participant", "event", "message"):
                if rows[name] and (force or len(rows["message"]) >= BATCH):
                    conn.execute(insert(tables[name]), rows[name])
                    rows[name] = []

        for n, when in enumerate(opened, start=1):
            row, events, participants = _life(rng, desk.desk_id, n, n, when, end)
            rows["ticket"].append(row)
            rows["event"] += events
            rows["participant"] += participants
            found = list(_messages(rng, row, per_ticket[n - 1], message_id))
            rows["message"] += found
            message_id += len(found)
            counts["events"] += len(events)
            counts["messages"] += len(found)
            flush()
        flush(force=True)
        conn.execute(
            update(DeskRow).where(DeskRow.id == desk.desk_id).values(next_number=tickets + 1)
        )
        if desk.db.is_postgres:
            for name in ("ticket", "event", "participant", "message"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {name}))"
                    )
                )
            conn.execute(text("ANALYZE"))
    if not desk.db.is_postgres:
        with desk.db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    return Generated(
        desk,
        url,
        pg_name,
        tickets,
        counts["messages"],
        counts["events"],
        time.perf_counter() - t0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--dir", type=Path, help="where maildesk.toml goes (default: a temp dir)")
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="maildesk-history-"))
    workdir.mkdir(parents=True, exist_ok=True)
    made = generate(
        workdir,
        tickets=args.tickets,
        messages=args.messages,
        database=args.database,
        year=args.year,
        seed=args.seed,
    )
    made.desk.db.dispose()
    print(
        f"tickets: {made.tickets}, messages: {made.messages}, events: {made.events},"
        f" database: {args.database}, year: {args.year}"
    )
    print(f"generated in {made.seconds:.1f} s ({made.tickets / made.seconds:.0f} tickets/s)")
    print(f"config: {workdir / 'maildesk.toml'}")


if __name__ == "__main__":
    main()
