"""The knowledge base on SQLite and PostgreSQL: files synced into the full-text index,
suggestions for Spanish (accents, plurals) and English requests, `#kb` by mail and the
console's button making a closed ticket an article, the confirmation that carries it,
and the article's page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.clock import FixedClock
from maildesk.context import Desk
from maildesk.daemon import fetch_once
from maildesk.domain import EventKind
from maildesk.kb.index import kb_root, sync, sync_desk
from maildesk.kb.suggest import suggest
from maildesk.models import Event, KbArticle
from maildesk.reports.figures import kb_suggestions
from maildesk.reports.periods import By, Window
from tests.conftest import DeskFactory
from tests.integration.test_staff import ANA, STAFF, World, open_leak, staff_reply, text_of, to
from tests.mails import make_mail
from tests.servers import ImapUser, Relay
from tests.web.conftest import client_for, open_ticket
from tests.web.test_console_ticket import console, direct, post

pytestmark = pytest.mark.integration

ASCENSORES = """# Uso de los ascensores

Los ascensores de cada torre se revisan el primer lunes del mes.

Si uno se detiene, llama al conserje: tiene la llave de rescate.
"""
PISCINA = "# Piscina\n\nLa piscina abre de 9 a 20 h en verano.\n"
ELEVATORS = "# Elevators\n\nThe elevators are serviced on the first Monday of each month.\n"


def write(desk: Desk, language: str, name: str, text: str) -> Path:
    path = kb_root(desk) / language / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def found(desk: Desk, text: str, language: str = "es") -> list[str]:
    with desk.db.read_only() as session:
        return [s.slug for s in suggest(session, desk.desk_id, language, text)]


def rows(desk: Desk) -> list[tuple[str, str, str]]:
    with desk.db.read_only() as session:
        return [
            (a.language, a.slug, a.title)
            for a in session.scalars(select(KbArticle).order_by(KbArticle.language, KbArticle.slug))
        ]


def test_sync_is_idempotent_and_follows_changed_and_removed_files(desk: Desk) -> None:
    """A second sync changes nothing; an edited file is updated (and searched by its new words), a removed one leaves the index."""
    write(desk, "es", "ascensores.md", ASCENSORES)
    piscina = write(desk, "es", "piscina.md", PISCINA)
    write(desk, "en", "elevators.md", ELEVATORS)
    write(desk, "fr", "ascenseurs.md", "# Ascenseurs\n")  # no such language: left out
    assert str(sync_desk(desk)) == "3 added, 0 updated, 0 removed, 0 unchanged"
    assert str(sync_desk(desk)) == "0 added, 0 updated, 0 removed, 3 unchanged"
    assert rows(desk) == [
        ("en", "elevators", "Elevators"),
        ("es", "ascensores", "Uso de los ascensores"),
        ("es", "piscina", "Piscina"),
    ]
    assert found(desk, "¿A qué hora abre la piscina?") == ["piscina"]
    piscina.write_text("# Quincho\n\nEl quincho se reserva en conserjería.\n", encoding="utf-8")
    write(desk, "en", "elevators.md", ELEVATORS)  # rewritten, same bytes
    (kb_root(desk) / "es" / "ascensores.md").unlink()
    with desk.db.transaction() as session:
        done = sync(session, desk.desk_id, kb_root(desk), now=desk.clock.now())
    assert str(done) == "0 added, 1 updated, 1 removed, 1 unchanged"
    assert rows(desk) == [("en", "elevators", "Elevators"), ("es", "piscina", "Quincho")]
    assert found(desk, "¿A qué hora abre la piscina?") == []
    assert found(desk, "Quiero reservar el quincho") == ["piscina"]
    assert found(desk, "El ascensor no funciona") == []


def test_requests_find_articles_by_stem_without_accents_in_their_language(desk: Desk) -> None:
    """Spanish "ascensor ... Ñandú" finds the article about "ascensores"; English "elevator" finds "Elevators"; no shared word finds nothing."""
    write(desk, "es", "ascensores.md", ASCENSORES)
    write(desk, "es", "piscina.md", PISCINA)
    write(desk, "es", "nandu.md", "# Torre Ñandú\n\nLa torre Ñandú tiene dos accesos.\n")
    write(desk, "en", "elevators.md", ELEVATORS)
    sync_desk(desk)
    # "ascensor" meets "ascensores", "Ñandú" meets "nandu"; the pool shares no word.
    assert set(found(desk, "El ascensor de la torre Ñandú no funciona")) == {"ascensores", "nandu"}
    assert found(desk, "ASCÉNSOR detenido") == ["ascensores"]
    assert found(desk, "The elevator is broken", "en") == ["elevators"]
    assert found(desk, "The elevator is broken", "es") == []
    assert found(desk, "Ruidos molestos del vecino de arriba") == []
    assert found(desk, "") == []
    with desk.db.read_only() as session:
        [hit] = suggest(
            session, desk.desk_id, "es", "llave de rescate", base_url="https://soporte.example/"
        )
    assert hit.title == "Uso de los ascensores"
    assert hit.url == "https://soporte.example/kb/es/ascensores"
    assert hit.snippet == "Si uno se detiene, llama al conserje: tiene la llave de rescate."


@pytest.fixture
def world(make_desk: DeskFactory, imap_user: ImapUser, relay: Relay, clock: FixedClock) -> World:
    desk = make_desk(
        smtp={"host": relay.host, "port": relay.port, "security": "none"},
        imap={
            "host": imap_user.host,
            "port": imap_user.port,
            "security": "none",
            "username": imap_user.username,
            "password": imap_user.password,
        },
        desk={"trusted_authserv_ids": ["mx.alameda.example"]},
        staff=STAFF,
    )
    fetch_once(desk)
    return World(desk, imap_user, relay, clock)


def test_kb_on_the_closing_reply_makes_an_article_the_next_confirmation_suggests(
    world: World,
) -> None:
    """Ana closes the leak with `#kb`: the file is written and indexed; the next resident's confirmation carries "Quizá te sirva:" with its link, and the report counts it."""
    notice = open_leak(world)
    staff_reply(
        world,
        notice,
        ANA,
        "#cerrar\n#kb\n\nCambiamos la llave de paso del baño; la filtración quedó reparada.",
    )
    path = kb_root(world.desk) / "es" / "1-fuga-de-agua-en-el-bano.md"
    assert path.read_text(encoding="utf-8") == (
        "# Fuga de agua en el baño\n\n"
        "Cambiamos la llave de paso del baño; la filtración quedó reparada.\n"
    )
    assert ("es", "1-fuga-de-agua-en-el-bano", "Fuga de agua en el baño") in rows(world.desk)
    world.clock.advance(timedelta(minutes=5))
    world.deliver(
        make_mail(
            sender="otro@correo.example",
            subject="Filtración",
            body="Hay una filtración de agua en mi baño.",
        )
    )
    mails = world.flush()
    [confirmation] = to(mails, "otro@correo.example")
    text = text_of(confirmation)
    assert "Quizá te sirva:" in text
    assert (
        "- Fuga de agua en el baño: https://soporte.alameda.example/kb/es/1-fuga-de-agua-en-el-bano"
        in text
    )
    html = confirmation.get_body(("html",))
    assert (
        html is not None
        and 'href="https://soporte.alameda.example/kb/es/1-fuga-de-agua-en-el-bano"'
        in str(html.get_content())
    )
    now = world.clock.now()
    window = Window(now.date() - timedelta(days=1), now.date(), By.DAY, "America/Santiago")
    with world.desk.db.read_only() as session:
        table = kb_suggestions(session, world.desk.desk_id, window)
        events = session.scalar(
            select(func.count()).where(Event.kind == EventKind.KB_SUGGESTED.value)
        )
    assert table.rows[0] == {"metric": "confirmations_with_suggestions", "value": 1}
    assert events == 1


def test_kb_on_an_open_ticket_is_refused_and_writes_nothing(world: World) -> None:
    """`#kb` without closing: Ana hears why, no file, the ticket unchanged."""
    notice = open_leak(world)
    mails = staff_reply(world, notice, ANA, "#kb")
    [answer] = to(mails, ANA)
    assert "Solo una solicitud cerrada va a la base de conocimiento" in text_of(answer)
    assert not (kb_root(world.desk) / "es").exists()
    assert world.ticket().state == "recibido"


def test_console_button_on_a_closed_ticket_makes_the_article(make_desk: DeskFactory) -> None:
    """The console's "Agregar a la base de conocimiento" is the same StaffUpdate action: the closing note becomes the article."""
    from tests.web.consolekit import SOFIA
    from tests.web.consolekit import STAFF as CONSOLE_STAFF

    desk = make_desk(staff=CONSOLE_STAFF)
    opened = open_ticket(desk, subject="Portón eléctrico trabado", body="El portón no abre.")
    client = console(desk, SOFIA)
    page = client.get(f"/staff/t/{opened.number}").get_data(as_text=True)
    assert f'action="/staff/t/{opened.number}/kb"' not in page  # only on a closed ticket
    assert post(client, opened.number, "kb")[0] == 400
    direct(desk, opened.number, SOFIA, lambda u: u.close("Se reinició el motor del portón."))
    page = client.get(f"/staff/t/{opened.number}").get_data(as_text=True)
    assert f'action="/staff/t/{opened.number}/kb"' in page
    assert post(client, opened.number, "kb")[0] == 303
    slug = f"{opened.number}-porton-electrico-trabado"
    path = kb_root(desk) / "es" / f"{slug}.md"
    assert path.read_text(encoding="utf-8").endswith("Se reinició el motor del portón.\n")
    assert found(desk, "el portón no abre") == [slug]


def test_article_page_renders_markdown_and_escapes_html(desk: Desk) -> None:
    """Markdown becomes HTML; raw HTML and a script in the file are shown as text or dropped; an unknown slug is 404."""
    write(
        desk,
        "es",
        "reglas.md",
        "# Reglas <b>del</b> edificio\n\n**Ñandú**: sin ruidos después de las 22 h.\n\n"
        "<script>alert(1)</script>\n\n[enlace](javascript:alert(1))\n",
    )
    sync_desk(desk)
    client = client_for(desk)
    response = client.get("/kb/es/reglas")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Reglas &lt;b&gt;del&lt;/b&gt; edificio</h1>" in body
    assert "<strong>Ñandú</strong>: sin ruidos después de las 22 h." in body
    assert "<script" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'href="javascript' not in body
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get("/kb/es/no-existe").status_code == 404
    assert client.get("/kb/en/reglas").status_code == 404


def test_the_nueva_form_shows_suggestions_and_the_report_counts_who_still_opened(
    desk: Desk,
) -> None:
    """A request typed on /nueva that matches an article is shown it before anything opens;
    the report says how many such requests were shown suggestions and how many still opened."""
    from tests.web.test_portal import GOOD, _link, _open, _post

    write(
        desk,
        "es",
        "ascensores.md",
        "# Ascensores\n\nSi el ascensor se detiene, llame a conserjería.",
    )
    sync_desk(desk)
    client = client_for(desk)
    status, body = _post(client, {**GOOD, "type": "", "title": "El ascensor no funciona"})
    assert status == 200 and "Quizá ya tengas tu respuesta" in body
    assert 'href="https://soporte.alameda.example/kb/es/ascensores"' in body
    now = desk.clock.now()
    window = Window(now.date() - timedelta(days=1), now.date(), By.DAY, "America/Santiago")

    def figures() -> dict[str, int]:
        with desk.db.read_only() as session:
            table = kb_suggestions(session, desk.desk_id, window)
        return {str(r["metric"]): int(r["value"]) for r in table.rows}

    assert figures()["web_requests_with_suggestions"] == 1
    assert figures()["web_requests_opened_after_suggestions"] == 0
    _open(client, _link(desk))
    assert figures()["web_requests_opened_after_suggestions"] == 1
