"""How many mails per second `maildesk fetch --once` imports from a real Dovecot mailbox.

    .venv/bin/python bench/fetch_throughput.py [--mails 1000] [--database sqlite|postgresql]
        [--peer django-helpdesk]

Starts a Dovecot of its own (state in a temp dir), appends N generated mails (a
third with a photo attached, Spanish subjects and bodies), and times:

- baseline: imapclient fetching `BODY.PEEK[]` of every mail in batches, with no
  storage at all — the ceiling set by the IMAP server and the socket;
- floor: the same fetch plus the stdlib `email` parse of every mail, every part's
  content decoded, nothing stored — the least any importer must do (the target is
  maildesk at 0.35 of it or better);
- maildesk: the real `maildesk fetch --once` command, as cron runs it: fetch, store
  raw, flag on the server, parse, thread, open a ticket, render and enqueue the
  confirmation — every mail committed.

- peer (`--peer django-helpdesk`): django-helpdesk's `get_email` importing the same
  mails from a mailbox of its own on the same Dovecot, in a venv and a Django project
  of its own on the same kind of database (`django_helpdesk.py` says how).

Prints the rates and maildesk's ratio to each. Start-up of the command (interpreter,
imports, migrations check) is timed separately so the rate is the import itself.
`--profile FILE` runs the timed import under cProfile (the reader child, which parses,
is not in it).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imapclient import IMAPClient  # noqa: E402
from sqlalchemy import create_engine, func, select  # noqa: E402

from maildesk.models import Ticket  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import django_helpdesk  # noqa: E402
from generate_history import database_url, drop  # noqa: E402

from tests.mails import make_mail  # noqa: E402
from tests.servers import Dovecot  # noqa: E402

TOPICS = [
    "Fuga de agua en el baño",
    "Ruido después de las 23:00",
    "Paquete en conserjería",
    "Portón no abre",
    "Ascensor detenido en la torre B",
    "Reserva del quincho",
    "Gastos comunes de noviembre",
]


def generate(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    mails = []
    for i in range(count):
        topic = rng.choice(TOPICS)
        attachments = [("foto.jpg", "image/jpeg", rng.randbytes(40_000))] if i % 3 == 0 else []
        mails.append(
            make_mail(
                sender=f"residente{i}@correo.example",
                sender_name=f"Residente Ñúñez {i}",
                subject=f"{topic} — depto {100 + i % 400}",
                body=f"Hola, les escribo por: {topic.lower()}. Quedo atento. Gracias.\n"
                * rng.randint(1, 6),
                message_id=f"<bench{i}.{seed}@correo.example>",
                attachments=attachments,
            )
        )
    return mails


def parse_every_part(raw: bytes) -> int:
    """The stdlib's full reading of one mail: headers, and every leaf part's content."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    size = len(str(message["subject"] or "")) + len(str(message["from"] or ""))
    for part in message.walk():
        if not part.is_multipart():
            size += len(part.get_content())
    return size


def baseline_fetch(dovecot: Dovecot, user: str, batch: int, *, parse: bool = False) -> float:
    """Fetch every mail in batches (and with `parse`, read each one whole); nothing stored."""
    start = time.perf_counter()
    client = IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False)
    client.login(user, dovecot.passwords[user])
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    total = 0
    for i in range(0, len(uids), batch):
        for data in client.fetch(uids[i : i + batch], ["BODY.PEEK[]"]).values():
            raw = data[b"BODY[]"]
            total += parse_every_part(raw) if parse else len(raw)
    client.logout()
    assert total > 0
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--profile", type=Path, help="write the import's cProfile stats here")
    parser.add_argument(
        "--peer", choices=[django_helpdesk.PEER], help="also time this importer on the same mails"
    )
    args = parser.parse_args()
    # Installed (the first time) before anything is timed.
    peer_python = django_helpdesk.install() if args.peer else None

    workdir = Path(tempfile.mkdtemp(prefix="maildesk-bench-"))
    url, pg_name = database_url(args.database, workdir)
    with Dovecot() as dovecot:
        dovecot.add_user("bench", "bench-password")
        config = workdir / "maildesk.toml"
        config.write_text(
            f'[desk]\naddress = "soporte@alameda.example"\ndatabase = "{url}"\n'
            'secret_key = "bench"\n'
            f'[imap]\nhost = "{dovecot.host}"\nport = {dovecot.imap_port}\nsecurity = "none"\n'
            f'username = "bench"\npassword = "bench-password"\nbatch_size = {args.batch}\n'
        )
        maildesk = [sys.executable, "-m", "maildesk", "--config", str(config)]
        # Only init, db upgrade and run create a database; cron's fetch expects one.
        subprocess.run([*maildesk, "db", "upgrade"], check=True, cwd=workdir, capture_output=True)
        command = [*maildesk, "fetch", "--once"]
        subprocess.run(command, check=True, cwd=workdir, capture_output=True)  # start from now
        t0 = time.perf_counter()
        subprocess.run(command, check=True, cwd=workdir, capture_output=True)  # empty pass
        startup = time.perf_counter() - t0

        mails = generate(args.mails)
        megabytes = sum(map(len, mails)) / 1e6
        dovecot.append_many("bench", mails)
        baseline = baseline_fetch(dovecot, "bench", args.batch)
        floor = baseline_fetch(dovecot, "bench", args.batch, parse=True)

        if args.profile is not None:
            profiled = [sys.executable, "-m", "cProfile", "-o", str(args.profile.resolve())]
            command = [*profiled, "-m", "maildesk", *maildesk[3:], "fetch", "--once"]
        t0 = time.perf_counter()
        subprocess.run(command, check=True, cwd=workdir, capture_output=True)
        elapsed = time.perf_counter() - t0 - startup
        peer = (
            django_helpdesk.measure(peer_python, dovecot, mails, args.database, workdir)
            if peer_python
            else None
        )

    engine = create_engine(url)
    with engine.connect() as conn:
        tickets = conn.execute(select(func.count(Ticket.id))).scalar_one()
    engine.dispose()
    drop(pg_name)
    assert tickets == args.mails, f"expected {args.mails} tickets, found {tickets}"

    print(
        f"mails: {args.mails} ({megabytes:.1f} MB), database: {args.database}, batch: {args.batch}"
    )
    print(
        f"baseline  imapclient BODY.PEEK[] only : {baseline:7.2f} s"
        f"  {args.mails / baseline:8.1f} mails/s"
    )
    print(
        f"floor     fetch + stdlib parse, all parts: {floor:6.2f} s"
        f"  {args.mails / floor:8.1f} mails/s"
    )
    print(
        f"maildesk  fetch --once (end to end)   : {elapsed:7.2f} s"
        f"  {args.mails / elapsed:8.1f} mails/s"
        f"  (+{startup:.2f} s command start-up)"
    )
    print(f"ratio maildesk/baseline: {baseline / elapsed:.3f}")
    print(f"ratio maildesk/floor: {floor / elapsed:.3f}")
    if peer is not None:
        print_peer(peer, args.mails, elapsed)


def print_peer(peer: django_helpdesk.PeerRun, mails: int, elapsed: float) -> None:
    """The peer's rate, what it imported (and what not), and maildesk's ratio to it."""
    name = f"{django_helpdesk.PEER} {django_helpdesk.VERSION} get_email"
    print(
        f"peer      {name}: {peer.elapsed:7.2f} s  {mails / peer.elapsed:8.1f} mails/s"
        f"  (+{peer.startup:.2f} s command start-up)"
    )
    print(
        f"peer      imported: {peer.tickets} tickets, {peer.followups} follow-ups,"
        f" {peer.attachments} attachments, {peer.confirmed} confirmations;"
        f" {peer.left} mails left on the server,"
        f" {len(peer.errors)} error lines"
    )
    if peer.tickets != mails or peer.left or peer.errors:
        print(f"peer      failed on {mails - peer.tickets} of {mails} mails (its log on stderr)")
        print("\n".join(peer.errors[:20]), file=sys.stderr)
    print(f"ratio maildesk/{django_helpdesk.PEER}: {peer.elapsed / elapsed:.3f}")


if __name__ == "__main__":
    main()
