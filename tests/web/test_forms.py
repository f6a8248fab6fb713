"""The status page's forms: CSRF, a reply that enters as a mail, confirm/reject, rating once."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import select

from maildesk.context import Desk
from maildesk.models import Attachment, Event, Inbound, InboundRaw, Message, Outbox, Ticket
from maildesk.tickets import changes
from maildesk.tickets.states import Action
from tests.conftest import DeskFactory
from tests.web.conftest import ANA, OTHER, PHOTO, RESIDENT, client_for, csrf_of, open_ticket


def _page(client: FlaskClient, token: str) -> str:
    response = client.get(f"/t/{token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _move(desk: Desk, *actions: Action) -> None:
    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        for action in actions:
            changes.transition(
                session,
                ticket,
                action,
                config=desk.config,
                actor=ANA,
                now=desk.clock.now(),
                note="listo",
            )


def _ticket(desk: Desk) -> Ticket:
    with desk.db.read_only() as session:
        ticket = session.scalars(select(Ticket)).one()
        _ = ticket.events
        return ticket


def test_post_without_or_with_a_wrong_csrf_token_is_400(desk: Desk) -> None:
    """Every form refuses a post with no CSRF token or a forged one, and changes nothing."""
    opened = open_ticket(desk)
    client = client_for(desk)
    _page(client, opened.token)
    for path in ("responder", "confirmar", "rechazar", "calificar"):
        assert client.post(f"/t/{opened.token}/{path}", data={"text": "hola"}).status_code == 400
        forged = client.post(
            f"/t/{opened.token}/{path}", data={"text": "hola", "csrf_token": "x" * 40}
        )
        assert forged.status_code == 400
    assert client.post("/buscar", data={"number": "1", "email": RESIDENT}).status_code == 400
    with desk.db.read_only() as session:
        assert session.scalars(select(Inbound)).all().__len__() == 1


def test_csrf_token_of_another_session_is_400(desk: Desk) -> None:
    """A token read by one browser does not work from another (it is bound to the session)."""
    opened = open_ticket(desk)
    token = csrf_of(_page(client_for(desk), opened.token))
    other = client_for(desk)
    response = other.post(
        f"/t/{opened.token}/responder", data={"text": "hola", "csrf_token": token}
    )
    assert response.status_code == 400


def test_reply_from_the_page_enters_as_a_mail_with_its_attachment(staffed: Desk) -> None:
    """A reply posted on the page becomes a public inbound message with its file, and staff are told."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    csrf = csrf_of(_page(client, opened.token))
    with staffed.db.read_only() as session:
        before = len(session.scalars(select(Outbox).where(Outbox.kind == "staff_notice")).all())
    response = client.post(
        f"/t/{opened.token}/responder",
        data={
            "csrf_token": csrf,
            "text": "Les mando una foto <b>más</b>.",
            "files": [(__import__("io").BytesIO(PHOTO[2]), PHOTO[0])],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    with staffed.db.read_only() as session:
        inbound = session.scalars(select(Inbound).order_by(Inbound.id.desc())).first()
        assert inbound is not None and inbound.source == "web" and inbound.status == "processed"
        raw = select(InboundRaw.raw).where(InboundRaw.inbound_id == inbound.id)
        assert b"X-Maildesk-Channel: web" in session.scalars(raw).one()
        message = session.scalars(select(Message).where(Message.inbound_id == inbound.id)).one()
        assert (
            message.public and message.direction == "inbound" and message.sender_email == RESIDENT
        )
        assert "Les mando una foto" in message.text
        files = session.scalars(select(Attachment).where(Attachment.message_id == message.id)).all()
        assert [(f.filename, f.content_type) for f in files] == [(PHOTO[0], "image/jpeg")]
        notices = session.scalars(select(Outbox).where(Outbox.kind == "staff_notice")).all()
        assert len(notices) > before
        assert all(n.recipient != RESIDENT for n in notices)
    html = _page(client, opened.token)
    assert "Les mando una foto &lt;b&gt;más&lt;/b&gt;." in html
    assert "Recibimos tu mensaje" in html


def test_reply_with_too_many_files_is_refused(desk: Desk) -> None:
    """More than web.max_files files: nothing enters the ticket and the page says why."""
    import io

    opened = open_ticket(desk)
    client = client_for(desk)
    csrf = csrf_of(_page(client, opened.token))
    files = [(io.BytesIO(b"x"), f"f{i}.txt") for i in range(desk.config.web.max_files + 1)]
    response = client.post(
        f"/t/{opened.token}/responder",
        data={"csrf_token": csrf, "text": "hola", "files": files},
        content_type="multipart/form-data",
    )
    with desk.db.read_only() as session:
        assert len(session.scalars(select(Inbound)).all()) == 1
    assert response.status_code == 400
    assert "Puedes adjuntar hasta" in response.get_data(as_text=True)


def test_confirm_in_validacion_closes_the_ticket(staffed: Desk) -> None:
    """In validación the resident confirms from the page; the ticket closes by their hand."""
    opened = open_ticket(staffed)
    _move(staffed, Action.RESOLVE)
    client = client_for(staffed)
    html = _page(client, opened.token)
    assert "¿Quedó resuelta?" in html
    response = client.post(f"/t/{opened.token}/confirmar", data={"csrf_token": csrf_of(html)})
    assert response.status_code == 303
    ticket = _ticket(staffed)
    assert ticket.state == "cerrado" and ticket.outcome == "success"
    last = ticket.events[-1]
    assert (
        last.kind == "state"
        and last.actor == RESIDENT
        and json.loads(last.detail)["action"] == "confirm"
    )


def test_reject_in_validacion_reopens_and_tells_staff(staffed: Desk) -> None:
    """Rejecting sends the ticket back to en progreso and notifies staff it was reopened."""
    opened = open_ticket(staffed)
    _move(staffed, Action.RESOLVE)
    client = client_for(staffed)
    csrf = csrf_of(_page(client, opened.token))
    client.post(
        f"/t/{opened.token}/rechazar", data={"csrf_token": csrf, "reason": "Sigue goteando"}
    )
    assert _ticket(staffed).state == "en_progreso"
    with staffed.db.read_only() as session:
        notices = session.scalars(
            select(Message).where(Message.kind == "staff_notice", Message.text.like("[reopened]%"))
        ).all()
        assert notices and "Sigue goteando" in notices[0].text
        assert (
            session.scalars(select(Outbox).where(Outbox.kind == "staff_notice")).first() is not None
        )


def test_confirm_outside_validacion_changes_nothing(desk: Desk) -> None:
    """A confirm posted while the ticket is not awaiting confirmation leaves it as it is."""
    opened = open_ticket(desk)
    client = client_for(desk)
    html = _page(client, opened.token)
    assert "¿Quedó resuelta?" not in html
    client.post(f"/t/{opened.token}/confirmar", data={"csrf_token": csrf_of(html)})
    assert _ticket(desk).state == "recibido"


def test_rating_is_stored_once_when_closed(desk: Desk) -> None:
    """A closed ticket takes one rating with a comment and an event; a second post changes nothing."""
    opened = open_ticket(desk)
    _move(desk, Action.CLOSE)
    client = client_for(desk)
    csrf = csrf_of(_page(client, opened.token))
    client.post(
        f"/t/{opened.token}/calificar",
        data={"csrf_token": csrf, "rating": "4", "comment": "Rápidos"},
    )
    client.post(
        f"/t/{opened.token}/calificar", data={"csrf_token": csrf, "rating": "1", "comment": "otro"}
    )
    ticket = _ticket(desk)
    assert (ticket.rating, ticket.rating_comment) == (4, "Rápidos")
    assert ticket.rated_at == desk.clock.now()
    assert [e.kind for e in ticket.events].count("rated") == 1
    assert "Ya calificaste esta solicitud: 4 de 5." in _page(client, opened.token)


def test_rating_is_refused_while_open_or_out_of_range(desk: Desk) -> None:
    """No rating before closure, and none outside 1–5."""
    opened = open_ticket(desk)
    client = client_for(desk)
    csrf = csrf_of(_page(client, opened.token))
    client.post(f"/t/{opened.token}/calificar", data={"csrf_token": csrf, "rating": "5"})
    assert _ticket(desk).rating is None
    _move(desk, Action.CLOSE)
    client.post(f"/t/{opened.token}/calificar", data={"csrf_token": csrf, "rating": "9"})
    assert _ticket(desk).rating is None
    with desk.db.read_only() as session:
        assert session.scalars(select(Event).where(Event.kind == "rated")).first() is None


def _reply(client: FlaskClient, token: str, csrf: str, text: str) -> int:
    return client.post(f"/t/{token}/responder", data={"csrf_token": csrf, "text": text}).status_code


def test_page_replies_are_rate_limited_per_ticket_and_per_client(make_desk: DeskFactory) -> None:
    """Each reply stores files and mails staff: past the limits a 429, and nothing stored."""
    desk = make_desk(web={"reply_per_ticket": "2 per hour", "reply_per_client": "4 per hour"})
    first, second = open_ticket(desk), open_ticket(desk, sender=OTHER, subject="Ruido")
    client = client_for(desk)
    csrf = csrf_of(_page(client, first.token))
    assert [_reply(client, first.token, csrf, f"dato {n}") for n in range(3)] == [303, 303, 429]
    assert _reply(client, second.token, csrf, "otro dato") == 303  # another ticket: its own limit
    assert _reply(client, second.token, csrf, "y otro") == 429  # this client's fifth post
    with desk.db.read_only() as session:
        assert len(session.scalars(select(Inbound).where(Inbound.source == "web")).all()) == 3
