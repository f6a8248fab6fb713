"""Escalations over a controlled clock: exactly which mails reach the relay, each once."""

from __future__ import annotations

import email
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlalchemy import func, select

from maildesk import config as config_mod
from maildesk.clock import FixedClock
from maildesk.context import Desk, open_desk
from maildesk.daemon import send_outbox
from maildesk.inbound.accept import accept
from maildesk.models import Escalation
from maildesk.sla.escalate import run_pass
from tests.conftest import DeskFactory
from tests.mails import make_mail
from tests.servers import Relay

pytestmark = pytest.mark.integration

STAFF = [
    {
        "email": "ana@alameda.example",
        "name": "Ana Pérez",
        "role": "agent",
        "teams": ["mantenimiento"],
    },
    {
        "email": "sofia@alameda.example",
        "name": "Sofía Rojas",
        "role": "supervisor",
        "teams": ["administración"],
    },
    {"email": "gerente@alameda.example", "name": "Gerardo", "role": "manager"},
    {"email": "directora@alameda.example", "name": "Dora", "role": "director"},
]


@pytest.fixture
def desk(make_desk: DeskFactory, relay: Relay) -> Desk:
    return make_desk(smtp={"host": relay.host, "port": relay.port, "security": "none"}, staff=STAFF)


def escalations(desk: Desk, relay: Relay, seen: list[int]) -> list[tuple[str, str]]:
    """(recipient, subject) of the escalation mails that reached the relay since last time."""
    send_outbox(desk)
    messages = relay.messages[seen[0] :]
    seen[0] = len(relay.messages)
    out = []
    for m in messages:
        parsed = email.message_from_bytes(m.raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        if parsed["Subject"].startswith("Escalamiento"):
            out.append((m.rcpt_tos[0], str(parsed["Subject"])))
    return sorted(out)


def test_a_day_of_tickets_escalates_each_level_once(
    desk: Desk, relay: Relay, clock: FixedClock
) -> None:
    """An urgent leak climbs assignee → supervisor → manager → director as its first-response target burns; nothing twice."""
    seen = [0]
    accept(
        desk,
        make_mail(
            subject="URGENTE: fuga de gas en la torre B",
            body="Huele a gas en el pasillo.",
            message_id="<gas@x>",
        ),
        source="pipe",
    )
    accept(
        desk,
        make_mail(
            sender="otro@correo.example",
            subject="Gotera en el techo",
            body="Gotea el techo del baño.",
            message_id="<gotera@x>",
        ),
        source="pipe",
    )
    escalations(desk, relay, seen)  # confirmations and notices
    walk = [
        (timedelta(minutes=30), []),
        (
            timedelta(minutes=16),
            [("ana@alameda.example", "Escalamiento: [#1] URGENTE: fuga de gas en la torre B")],
        ),
        (timedelta(minutes=1), []),
        (
            timedelta(minutes=15),
            [("sofia@alameda.example", "Escalamiento: [#1] URGENTE: fuga de gas en la torre B")],
        ),
        (
            timedelta(minutes=30),
            [("gerente@alameda.example", "Escalamiento: [#1] URGENTE: fuga de gas en la torre B")],
        ),
        (
            timedelta(minutes=30),
            [
                (
                    "directora@alameda.example",
                    "Escalamiento: [#1] URGENTE: fuga de gas en la torre B",
                )
            ],
        ),
        (timedelta(minutes=59), [("ana@alameda.example", "Escalamiento: [#2] Gotera en el techo")]),
    ]
    for step, expected in walk:
        clock.advance(step)
        run_pass(desk)
        assert escalations(desk, relay, seen) == expected, f"after {clock.now()}"
    restarted = open_desk(
        config_mod.load(desk.config.base_dir / "maildesk.toml"), clock=clock, upgrade=True
    )
    assert run_pass(restarted).mails == 0
    restarted.db.dispose()


def test_one_mail_lists_tickets_most_overdue_first(
    desk: Desk, relay: Relay, clock: FixedClock
) -> None:
    """Two tickets breaking in the same pass reach the supervisor in one mail, the later one first."""
    for n in range(2):
        accept(
            desk,
            make_mail(
                sender=f"r{n}@correo.example", subject=f"URGENTE fuga {n}", message_id=f"<u{n}@x>"
            ),
            source="pipe",
        )
        clock.advance(timedelta(minutes=20))
    clock.advance(timedelta(minutes=70))
    report = run_pass(desk)
    assert [n for n, _, _ in report.by_recipient["sofia@alameda.example"]] == [1, 2]
    send_outbox(desk)
    [mail] = [
        email.message_from_bytes(m.raw, policy=default)
        for m in relay.messages
        if m.rcpt_tos == ("sofia@alameda.example",)
    ]
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(("plain",))
    assert body is not None
    text = str(body.get_content())
    assert text.index("#1 URGENTE fuga 0") < text.index("#2 URGENTE fuga 1")
    assert "soporte+1-" in text and "soporte+2-" in text and "#asignar" in text


def test_two_workers_send_each_escalation_once(desk: Desk, relay: Relay, clock: FixedClock) -> None:
    """Two workers running the pass at the same moment record and mail each escalation once."""
    accept(desk, make_mail(subject="URGENTE: sin agua", message_id="<agua@x>"), source="pipe")
    clock.advance(timedelta(minutes=130))
    workers = [
        open_desk(
            config_mod.load(desk.config.base_dir / "maildesk.toml"), clock=clock, upgrade=True
        )
        for _ in range(2)
    ]
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda w=w: results.append(run_pass(w).escalations))
        for w in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [0, 4]
    with desk.db.read_only() as session:
        assert session.scalar(select(func.count(Escalation.id))) == 4
    for worker in workers:
        worker.db.dispose()


def test_manager_reassigns_from_the_escalation_mail(
    desk: Desk, relay: Relay, clock: FixedClock
) -> None:
    """The manager replies '#asignar ana@…' and '#prioridad media' to the escalation mail: the ticket changes."""
    from maildesk.models import Ticket
    from tests.clients import reply

    accept(
        desk,
        make_mail(subject="URGENTE: sin luz en el pasillo", message_id="<luz@x>"),
        source="pipe",
    )
    clock.advance(timedelta(minutes=95))
    run_pass(desk)
    send_outbox(desk)
    [raw] = [m.raw for m in relay.messages if m.rcpt_tos == ("gerente@alameda.example",)]
    escalation = email.message_from_bytes(raw, policy=default)
    assert isinstance(escalation, EmailMessage)
    answer = reply(
        escalation,
        client="outlook",
        language="es",
        sender="gerente@alameda.example",
        sender_name="Gerardo",
        text="#asignar ana@alameda.example\n#prioridad media",
    )
    accept(desk, answer, source="pipe")
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.assignee, ticket.priority) == ("ana@alameda.example", "media")


def test_pass_reads_only_tickets_whose_check_has_come(desk: Desk, clock: FixedClock) -> None:
    """Each pass sets a ticket's next check before its next threshold; a ticket whose check
    is later is not read (its escalation waits) until the SLA rules change, and batches of
    one cover all the others."""
    from maildesk.models import Ticket

    for n in range(3):
        accept(
            desk,
            make_mail(subject=f"URGENTE: sin agua {n}", message_id=f"<agua{n}@x>"),
            source="pipe",
        )
    start = clock.now()
    assert run_pass(desk, batch=1).escalations == 0
    with desk.db.transaction() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.number)).all()
        checks = [t.next_check_at for t in tickets]
        assert all(c is not None and start < c <= start + timedelta(hours=1) for c in checks)
        tickets[0].next_check_at = start + timedelta(days=30)
    clock.advance(timedelta(minutes=95))
    report = run_pass(desk, batch=1)
    with desk.db.read_only() as session:
        escalated = set(
            session.scalars(
                select(Ticket.number).join(Escalation, Escalation.ticket_id == Ticket.id)
            )
        )
    assert escalated == {2, 3} and report.escalations > 0

    # Other SLA rules than those the checks were set by: every open ticket is looked at.
    from maildesk.models import Desk as DeskRow

    with desk.db.transaction() as session:
        row = session.get(DeskRow, desk.desk_id)
        assert row is not None and row.sla_rules
        row.sla_rules = "rules of another configuration"
    run_pass(desk, batch=1)
    with desk.db.read_only() as session:
        escalated = set(
            session.scalars(
                select(Ticket.number).join(Escalation, Escalation.ticket_id == Ticket.id)
            )
        )
    assert escalated == {1, 2, 3}
