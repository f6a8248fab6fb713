"""The status page shows a resident their own ticket, public messages only, and nothing else."""

from __future__ import annotations

from sqlalchemy import select

from maildesk.context import Desk
from maildesk.domain import Attachment as MailAttachment
from maildesk.models import Attachment, Message, Ticket
from maildesk.tickets import changes, history
from maildesk.web import SECURITY_HEADERS
from tests.web.conftest import ANA, OTHER, PHOTO, client_for, open_ticket


def test_page_shows_ticket_facts_in_resident_words(staffed: Desk) -> None:
    """Number, subject, state words, priority, category, local date and the assignee's first name."""
    opened = open_ticket(staffed, subject="Fuga de agua en el depto 402")
    with staffed.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        changes.assign(
            session, ticket, assignee=ANA, team="mantenimiento", actor=ANA, now=staffed.clock.now()
        )
    response = client_for(staffed).get(f"/t/{opened.token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="es">' in html
    assert f"#{opened.number} Fuga de agua en el depto 402" in html
    assert "Recibida" in html
    assert "Mantenimiento" in html
    # 13:00 UTC is 10:00 in Santiago (summer time), in Spanish format.
    assert "23 nov 2026, 10:00" in html
    assert "Ana" in html and "Pérez" not in html and ANA not in html
    assert response.headers["Cache-Control"] == "no-store"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_page_in_english_for_an_english_desk(make_desk) -> None:  # type: ignore[no-untyped-def]
    """A desk whose language is English gets the page in English."""
    desk = make_desk(desk={"language": "en"})
    opened = open_ticket(desk)
    html = client_for(desk).get(f"/t/{opened.token}").get_data(as_text=True)
    assert '<html lang="en">' in html and "Received" in html and "Timeline" in html


def test_timeline_is_public_escaped_and_without_internal_notes(staffed: Desk) -> None:
    """Inbound and public outbound messages show, escaped; internal notes and staff notices never."""
    opened = open_ticket(staffed, body="Hola <script>alert(1)</script> hay una fuga")
    with staffed.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        history.add_note(
            session,
            staffed,
            ticket,
            actor=ANA,
            actor_name="Ana Pérez",
            text="NOTA INTERNA: el vecino es conflictivo",
            now=staffed.clock.now(),
        )
    html = client_for(staffed).get(f"/t/{opened.token}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "NOTA INTERNA" not in html
    assert ANA not in html and "sofia@" not in html
    assert "Recibimos tu solicitud" in html  # the public confirmation mail


def test_bad_short_and_unknown_tokens_are_404(desk: Desk) -> None:
    """Malformed, too short, unknown and almost-right tokens all answer 404."""
    opened = open_ticket(desk)
    client = client_for(desk)
    for token in (
        "x",
        "a" * 15,
        "a" * 40,
        opened.token[:-1] + ("A" if opened.token[-1] != "A" else "B"),
        opened.token + "x" * 70,
        "..%2f..%2fetc",
    ):
        assert client.get(f"/t/{token}").status_code == 404, token
    assert client.get(f"/t/{opened.token}").status_code == 200


def test_another_residents_ticket_is_not_on_my_page(desk: Desk) -> None:
    """One token shows one ticket: another resident's subject and words never appear."""
    mine = open_ticket(desk, subject="Ruido en la noche")
    open_ticket(desk, sender=OTHER, subject="Portón roto", body="Soy del 301, el portón no cierra")
    html = client_for(desk).get(f"/t/{mine.token}").get_data(as_text=True)
    assert "Ruido en la noche" in html
    assert "Portón roto" not in html and "301" not in html and OTHER not in html


def test_rotated_token_retires_the_old_link(desk: Desk) -> None:
    """After `tokens.rotate` the old link is 404 and the new one works."""
    from maildesk.web import tokens

    opened = open_ticket(desk)
    new = tokens.rotate(desk, opened.number)
    client = client_for(desk)
    assert new != opened.token and len(new) >= 22
    assert client.get(f"/t/{opened.token}").status_code == 404
    assert client.get(f"/t/{new}").status_code == 200


def _attachment_ids(desk: Desk) -> dict[str, int]:
    with desk.db.read_only() as session:
        return {a.filename: a.id for a in session.scalars(select(Attachment))}


def test_public_attachment_is_served_with_safe_headers(desk: Desk) -> None:
    """A photo on a public message is served inline, with its stored type and nosniff."""
    opened = open_ticket(desk, attachments=[PHOTO, ("plano.pdf", "application/pdf", b"%PDF-1.4 x")])
    ids = _attachment_ids(desk)
    client = client_for(desk)
    html = client.get(f"/t/{opened.token}").get_data(as_text=True)
    assert f"/t/{opened.token}/a/{ids['foto_baño.jpg']}" in html
    photo = client.get(f"/t/{opened.token}/a/{ids['foto_baño.jpg']}")
    assert photo.status_code == 200 and photo.data == PHOTO[2]
    assert photo.mimetype == "image/jpeg"
    assert photo.headers["Content-Disposition"].startswith("inline")
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    pdf = client.get(f"/t/{opened.token}/a/{ids['plano.pdf']}")
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")


def test_svg_is_never_inline(desk: Desk) -> None:
    """An SVG (which can carry script) is always a download."""
    opened = open_ticket(
        desk, attachments=[("dibujo.svg", "image/svg+xml", b"<svg><script>x</script></svg>")]
    )
    ids = _attachment_ids(desk)
    response = client_for(desk).get(f"/t/{opened.token}/a/{ids['dibujo.svg']}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_another_tickets_attachment_is_404(desk: Desk) -> None:
    """My token cannot fetch an attachment of someone else's ticket."""
    mine = open_ticket(desk)
    open_ticket(desk, sender=OTHER, attachments=[("ajeno.jpg", "image/jpeg", b"\xff\xd8\xffajeno")])
    ids = _attachment_ids(desk)
    assert client_for(desk).get(f"/t/{mine.token}/a/{ids['ajeno.jpg']}").status_code == 404


def test_internal_messages_attachment_is_404(desk: Desk) -> None:
    """An attachment of an internal note is never served, even on its own ticket."""
    opened = open_ticket(desk)
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        history.add_note(
            session,
            desk,
            ticket,
            actor=ANA,
            actor_name="Ana",
            text="factura",
            now=desk.clock.now(),
            attachments=[MailAttachment("factura.pdf", "application/pdf", b"%PDF secret")],
        )
    ids = _attachment_ids(desk)
    client = client_for(desk)
    assert client.get(f"/t/{opened.token}/a/{ids['factura.pdf']}").status_code == 404
    assert "factura.pdf" not in client.get(f"/t/{opened.token}").get_data(as_text=True)
    with desk.db.read_only() as session:
        assert session.scalars(select(Message).where(Message.public.is_(False))).first() is not None


def test_static_stylesheet_is_served(desk: Desk) -> None:
    """The one stylesheet is served from the package's assets."""
    response = client_for(desk).get("/static/style.css")
    assert response.status_code == 200 and b"@media" in response.data
