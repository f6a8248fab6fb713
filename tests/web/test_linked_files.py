"""Files too large for a mail are linked, not attached: notices stay small (issue 15, items 6-7)."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

from sqlalchemy import select

from maildesk.context import Desk
from maildesk.domain import Attachment
from maildesk.models import Outbox, Ticket
from maildesk.outbound import notify
from tests.conftest import DeskFactory
from tests.outmail import queued_mail
from tests.web.conftest import STAFF, client_for, open_ticket

SMALL = ("nota.txt", "text/plain", b"medidor 402: 1234\n")
BIG = ("plano_torre_b.pdf", "application/pdf", b"%PDF" + b"p" * (1536 * 1024))
MID = ("foto_baño.jpg", "image/jpeg", b"\xff\xd8\xff" + b"j" * (800 * 1024))


def notices(desk: Desk) -> list[EmailMessage]:
    raws = queued_mail(desk, Outbox.kind == "staff_notice")
    return [email.message_from_bytes(raw, policy=default) for raw in raws]


def test_large_attachments_are_linked_in_staff_notices(make_desk: DeskFactory) -> None:
    """Over the per-file size, or past the total, a file is listed with its size and a signed link."""
    desk = make_desk(staff=STAFF, limits={"notice_attach_mb": 1, "notice_attach_total_mb": 1})
    opened = open_ticket(desk, attachments=[SMALL, BIG, MID, MID])
    [notice] = notices(desk)
    attached = [part.get_filename() for part in notice.iter_attachments()]
    assert attached == ["nota.txt", "foto_baño.jpg"]  # the second photo is past the total
    body = notice.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Archivos demasiado grandes para adjuntarlos" in text
    assert (
        "- plano_torre_b.pdf (1.5 MB): https://soporte.alameda.example/staff/t/1/adjunto/" in text
    )
    assert "- foto_baño.jpg (800 KB): " in text
    assert len(notice.as_bytes()) < 1024 * 1024 + 200_000
    link = next(line for line in text.splitlines() if line.startswith("- plano_torre_b.pdf"))
    path = link.split("https://soporte.alameda.example", 1)[1]
    client = client_for(desk)
    answer = client.get(path)  # no console sign-in: the signature is the proof
    assert answer.status_code == 200 and answer.data == BIG[2]
    forged = client.get(path.rsplit("=", 1)[0] + "=aaaaaaaaaa")
    assert forged.status_code != 200
    assert client.get(path.split("?")[0]).status_code != 200
    assert opened.number == 1


def test_a_huge_body_is_cut_in_staff_notices(make_desk: DeskFactory) -> None:
    """A resident's long text reaches staff as its first 50,000 characters and a console link."""
    desk = make_desk(staff=STAFF)
    open_ticket(desk, body="Hay una fuga en el depto 402, torre B. " + "ñ" * 120_000)
    [notice] = notices(desk)
    body = notice.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "[…] Texto recortado; el mensaje completo está en la consola: " in text
    assert "https://soporte.alameda.example/staff/t/1" in text
    assert len(notice.as_bytes()) < 600_000


def test_residents_get_the_status_page_link_for_a_large_file(make_desk: DeskFactory) -> None:
    """A staff answer's large file reaches the resident as the status page's attachment link."""
    desk = make_desk(staff=STAFF, limits={"notice_attach_mb": 1})
    opened = open_ticket(desk)
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        notify.answer_resident(
            session,
            desk,
            ticket,
            staff_name="Ana Pérez",
            text="Le envío el plano.",
            now=desk.clock.now(),
            attachments=[Attachment(*BIG)],
        )
    [raw] = queued_mail(desk, Outbox.kind == "staff_reply")
    reply = email.message_from_bytes(raw, policy=default)
    assert isinstance(reply, EmailMessage) and list(reply.iter_attachments()) == []
    body = reply.get_body(("plain",))
    assert body is not None
    line = next(x for x in body.get_content().splitlines() if x.startswith("- plano_torre_b.pdf"))
    prefix = f"- plano_torre_b.pdf (1.5 MB): https://soporte.alameda.example/t/{opened.token}/a/"
    assert line.startswith(prefix)
    answer = client_for(desk).get(line.split("https://soporte.alameda.example", 1)[1])
    assert answer.status_code == 200 and answer.data == BIG[2]
