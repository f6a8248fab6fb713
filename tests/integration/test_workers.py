"""Two workers of every part on one PostgreSQL, one of each SIGKILLed mid-way: every mail is
stored once and makes one ticket or one message, every outgoing mail reaches the relay once.

The load mixes every intake: mail appended to the IMAP mailbox (two fetchers, one lease),
mail handed to two SMTP listeners, staff replies with #commands, replies posted on the
status page through two page workers, and escalations (targets of seconds, a scheduler
looking every 2 s). Halfway, the fetcher holding the mailbox, a listener, a page worker,
a scheduler and an outbox sender are killed; the survivors carry the rest.
"""

from __future__ import annotations

import email
import http.cookiejar
import re
import smtplib
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.context import Desk
from maildesk.models import (
    Escalation,
    Inbound,
    InboundRaw,
    MailboxLease,
    MailboxPosition,
    Outbox,
    Ticket,
)
from tests.clients import reply
from tests.conftest import DeskFactory
from tests.integration.test_faults_kill import relay_process  # noqa: F401 - a fixture
from tests.mails import DESK, make_mail
from tests.servers import ImapUser, free_port
from tests.workers import (
    Worker,
    kill_outbox_worker_outside_smtp,
    start_worker,
    stop_all,
    wait_running,
)

pytestmark = [pytest.mark.integration, pytest.mark.long, pytest.mark.timeout(300)]

ANA = "ana@alameda.example"
STAFF = [
    {"email": ANA, "name": "Ana Pérez", "role": "agent", "teams": ["mantenimiento"]},
    {"email": "sofia@alameda.example", "name": "Sofía Rojas", "role": "supervisor"},
    {"email": "gerente@alameda.example", "name": "Gerardo Núñez", "role": "manager"},
]
FAST = {"first_response": "20s", "resolution": "1h"}
PER_HALF = 12  # mails per intake (IMAP, listener) in each half of the run
STAFF_REPLIES = PAGE_REPLIES = 4


def wait_until(what: str, check: Callable[[], bool], workers: list[Worker], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.log.name}\n{w.log_text()[-1500:]}" for w in workers)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def count(desk: Desk, column: object, *where: object) -> int:
    with desk.db.read_only() as session:
        return int(session.scalar(select(func.count(column)).where(*where)) or 0)  # type: ignore[arg-type]


def relayed(folder: Path) -> list[EmailMessage]:
    """Every message the relay process kept (its recipients' lines stripped)."""
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes().split(b"\n\n", 1)[1], policy=default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def to(message: EmailMessage) -> str:
    """The address a relayed mail was written to."""
    return getaddresses([str(message["To"])])[0][1]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


def to_listener(listeners: list[Worker], raw: bytes, sender: str) -> None:
    """Hand a mail to the first listener that takes it, as an MTA tries its next MX."""
    for worker in listeners:
        if worker.process.poll() is not None:
            continue
        try:
            with smtplib.SMTP("127.0.0.1", worker.port or 0, timeout=20) as smtp:
                smtp.sendmail(sender, [DESK], raw)
            return
        except (OSError, smtplib.SMTPException):
            continue
    raise AssertionError("no listener took the mail")


def post_reply(web: Worker, token: str, text: str) -> None:
    """A resident's reply from the status page: GET for the form's token, then POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{web.port}/t/{token}"
    page = opener.open(base, timeout=20).read().decode()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    data = urllib.parse.urlencode({"csrf_token": match.group(1), "text": text}).encode()
    with opener.open(f"{base}/responder", data=data, timeout=20) as answer:
        assert answer.status == 200


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(10)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_of_each_part_with_one_of_each_killed_do_everything_exactly_once(
    make_desk: DeskFactory,
    imap_user: ImapUser,
    relay_process: tuple[int, Path],  # noqa: F811 - the fixture imported above
    workers: list[Worker],
    tmp_path: Path,
) -> None:
    """2× fetch, listener, outbox, scheduler, web; mixed load; one of each SIGKILLed halfway."""
    relay_port, kept = relay_process
    desk = make_desk(
        # Plain HTTP (the page workers' own ports), so the form's session cookie is sent back.
        desk={"base_url": "http://soporte.alameda.example"},
        smtp={"host": "127.0.0.1", "port": relay_port, "security": "none", "timeout_seconds": 1},
        imap=imap_user.table(batch_size=5, poll_seconds=1, lease_seconds=5),
        escalation={
            "check_seconds": 2,
            "digest_daily": "",
            "digest_weekly": "",
            "digest_monthly": "",
        },
        priorities={"alta": FAST, "media": FAST, "baja": FAST},
        web={"reply_per_client": "1000 per hour", "reply_per_ticket": "1000 per hour"},
        staff=STAFF,
    )
    config = tmp_path / "maildesk.toml"
    for part in ("fetch", "listener", "outbox", "scheduler", "web"):
        for n in (1, 2):
            port = free_port() if part in ("listener", "web") else None
            workers.append(start_worker(config, part, f"{part}{n}", port=port))
    wait_running(workers)
    by_part = {p: [w for w in workers if w.part == p] for p in {w.part for w in workers}}
    listeners, pages = by_part["listener"], by_part["web"]
    wait_until(
        "the mailbox's starting point",
        lambda: count(desk, MailboxPosition.mailbox) == 1,
        workers,
        30,
    )

    sent_mids: list[str] = []

    def resident_mails(half: int) -> None:
        imap = []
        for i in range(PER_HALF):
            mid = f"<imap{half}-{i}@correo.example>"
            imap.append(
                make_mail(
                    sender=f"vecino{half}{i}@correo.example",
                    subject=f"Fuga de agua {half}-{i} en el baño, depto {400 + i}",
                    message_id=mid,
                )
            )
            sent_mids.append(mid)
        imap_user.server.append_many(imap_user.username, imap)
        for i in range(PER_HALF):
            mid = f"<smtp{half}-{i}@correo.example>"
            sender = f"vecina{half}{i}@correo.example"
            raw = make_mail(
                sender=sender,
                subject=f"Ruido {half}-{i} en la torre Ñandú",
                body="Hay ruidos molestos en la torre Ñandú desde anoche.",
                message_id=mid,
            )
            sent_mids.append(mid)
            to_listener(listeners[i % 2 :] + listeners[: i % 2], raw, sender)

    resident_mails(1)
    wait_until("a third of the tickets", lambda: count(desk, Ticket.id) >= PER_HALF, workers, 60)

    # Halfway: one of each part dies without a word.
    with desk.db.read_only() as session:
        holder = session.scalars(select(MailboxLease.holder)).one()
    holding = next(w for w in by_part["fetch"] if f":{w.pid}:" in holder)
    victim = by_part["outbox"][0]
    killed = {
        w.log.stem for w in (holding, listeners[0], pages[0], by_part["scheduler"][0], victim)
    }
    holding.kill()
    listeners[0].kill()
    pages[0].kill()
    by_part["scheduler"][0].kill()
    if not kill_outbox_worker_outside_smtp(victim, tmp_path / "data" / "receipts"):
        # The queue never kept it busy long enough: killed while it waits for mail instead.
        wait_until(
            "an idle outbox",
            lambda: count(desk, Outbox.id, Outbox.status == "pending") == 0,
            workers,
            60,
        )
        victim.kill()

    resident_mails(2)
    total = 4 * PER_HALF
    wait_until("every resident's ticket", lambda: count(desk, Ticket.id) >= total, workers, 90)

    # Staff answer by mail (to the listener that is left), residents from the page.
    def notices() -> list[EmailMessage]:
        return [m for m in relayed(kept) if to(m) == ANA and "[#" in str(m["Subject"])]

    wait_until("notices to staff", lambda: len(notices()) >= STAFF_REPLIES, workers, 60)
    for notice in notices()[:STAFF_REPLIES]:
        raw = reply(
            notice,
            client="thunderbird",
            language="es",
            sender=ANA,
            sender_name="Ana Pérez",
            text="#tomar\nVoy con el gásfiter mañana temprano.",
        )
        to_listener(listeners, raw, ANA)
    tokens = sorted(
        {
            found.group(1)
            for m in relayed(kept)
            if to(m).startswith("vecin")
            and (found := re.search(r"/t/([A-Za-z0-9_-]{20,})", text_of(m)))
        }
    )
    assert len(tokens) >= PAGE_REPLIES
    for i, token in enumerate(tokens[:PAGE_REPLIES]):
        post_reply(pages[1], token, f"Sigue goteando, respuesta número {i} — gracias")

    inbound_total = total + STAFF_REPLIES + PAGE_REPLIES

    def worked() -> bool:
        return (
            count(desk, Inbound.id) == inbound_total
            and count(desk, Inbound.id, Inbound.status == "pending") == 0
            and count(desk, Escalation.id) > 0
        )

    def drained() -> bool:
        return count(desk, Outbox.id, Outbox.status != "sent") == 0 and len(
            list(kept.glob("*.eml"))
        ) == count(desk, Outbox.id)

    wait_until("every mail stored, worked and escalated", worked, workers, 120)
    # The schedulers stop first: escalations would otherwise go on being queued.
    codes = stop_all(by_part["scheduler"])
    wait_until("the outbox sent", drained, workers, 120)
    time.sleep(3)  # anything sent twice would arrive now
    codes |= stop_all([w for w in workers if w.part != "scheduler"])
    unclean = {name: code for name, code in codes.items() if name not in killed and code != 0}
    assert not unclean, [
        (w.log.stem, w.log_text()[-2000:]) for w in workers if w.log.stem in unclean
    ]

    with desk.db.read_only() as session:
        stored = list(
            session.execute(select(InboundRaw.raw, Inbound.status, Inbound.source).join(Inbound))
        )
        outbox_mids = list(session.scalars(select(Outbox.mid)))
        kinds = Counter(session.scalars(select(Outbox.kind)))
        assigned = session.scalar(select(func.count(Ticket.id)).where(Ticket.assignee == ANA))
    stored_mids = Counter(
        str(email.message_from_bytes(raw, policy=default)["Message-ID"]) for raw, _, _ in stored
    )
    assert all(stored_mids[mid] == 1 for mid in sent_mids), stored_mids
    assert {status for _, status, _ in stored} == {"processed"}
    assert Counter(source for _, _, source in stored)["web"] == PAGE_REPLIES
    assert count(desk, Ticket.id) == total
    assert assigned == STAFF_REPLIES
    at_relay = Counter(str(m["Message-ID"]) for m in relayed(kept))
    assert [mid for mid, n in at_relay.items() if n > 1] == []
    assert set(at_relay) == set(outbox_mids) and len(outbox_mids) == len(set(outbox_mids))
    assert kinds["escalation"] > 0 and kinds["confirmation"] == total, kinds
