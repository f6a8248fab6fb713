"""The status page is served from its cache while nothing changed, and never stale or shared."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from maildesk.context import Desk
from maildesk.inbound.accept import accept
from maildesk.web import page_cache
from tests.mails import make_mail
from tests.web.conftest import OTHER, answer_as_ana, client_for, csrf_of, open_ticket, sent

# Transaction control, and the pool's liveness check on PostgreSQL (an empty statement).
_CONTROL = ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", ";")


@contextmanager
def statements(desk: Desk) -> Iterator[list[str]]:
    """Every SQL statement the database driver sends meanwhile (`sent`), transaction
    control left out."""
    with sent(desk) as seen:
        yield seen
    seen[:] = [s for s in seen if s.strip().strip('"').strip().upper() not in _CONTROL]


def timeline_of(html: str) -> str:
    found = re.search(r'<ol class="timeline">.*?</ol>', html, re.S)
    assert found, "no timeline on the page"
    return found.group(0)


def test_a_cache_hit_runs_one_statement_and_a_miss_loads_without_per_message_queries(
    staffed: Desk,
) -> None:
    """The second view is one SELECT; the first loads messages, files and events in a few."""
    opened = open_ticket(staffed, attachments=[("plano.pdf", "application/pdf", b"%PDF-1.4 x")])
    for n in range(5):
        accept(
            staffed,
            make_mail(subject=f"Re: [#{opened.number}] Fuga", body=f"Sigue la fuga, día {n}."),
            source="pipe",
        )
    client = client_for(staffed)
    with statements(staffed) as first:
        first_page = client.get(f"/t/{opened.token}").get_data(as_text=True)
    with statements(staffed) as second:
        second_page = client.get(f"/t/{opened.token}").get_data(as_text=True)
    assert "Sigue la fuga, día 4." in first_page and "plano.pdf" in first_page
    assert len(second) == 1 and "SELECT" in second[0].upper(), second
    # The lookup, the ticket, its messages, their attachments, its events: no query per message.
    assert len(first) <= 5, first
    # The same page; its forms' CSRF tokens are signed with the current second, so two
    # views a second apart differ there alone.
    assert second_page.replace(csrf_of(second_page), "") == first_page.replace(
        csrf_of(first_page), ""
    )


def test_page_changes_right_after_a_staff_update_with_the_clock_standing_still(
    staffed: Desk,
) -> None:
    """A staff answer from the console shows on the very next view, though no time passed."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    before = client.get(f"/t/{opened.token}").get_data(as_text=True)
    assert "Recibida" in before
    answer_as_ana(staffed, opened.number, "Vamos mañana a las 10 con el gasfíter.")
    after = client.get(f"/t/{opened.token}").get_data(as_text=True)
    assert "Vamos mañana a las 10 con el gasfíter." in after
    assert "En progreso" in after and "Ana" in after


def test_page_changes_right_after_a_reply_by_mail(staffed: Desk) -> None:
    """A resident's reply by mail shows on the next view of the cached page."""
    opened = open_ticket(staffed)
    client = client_for(staffed)
    assert "ahora gotea el techo" not in client.get(f"/t/{opened.token}").get_data(as_text=True)
    accept(
        staffed,
        make_mail(subject=f"Re: [#{opened.number}] Fuga", body="Y ahora gotea el techo."),
        source="pipe",
    )
    assert "ahora gotea el techo" in client.get(f"/t/{opened.token}").get_data(as_text=True)


def test_two_tokens_never_share_a_page(staffed: Desk) -> None:
    """Two residents' tickets through one client and one cache: each page is its own ticket's."""
    mine = open_ticket(staffed, subject="Ruidos molestos en el 301", body="Música hasta las 3.")
    theirs = open_ticket(staffed, sender=OTHER, subject="Gotera en bodega", body="Bodega 12.")
    client = client_for(staffed)
    for _ in range(2):  # the second round comes from the cache
        page_mine = client.get(f"/t/{mine.token}").get_data(as_text=True)
        page_theirs = client.get(f"/t/{theirs.token}").get_data(as_text=True)
        assert "Ruidos molestos" in page_mine and "Gotera" not in page_mine
        assert "Gotera en bodega" in page_theirs and "Ruidos" not in page_theirs
        assert "Música hasta las 3." not in timeline_of(page_theirs)


def test_each_viewer_gets_a_csrf_token_of_their_own_that_the_form_accepts(staffed: Desk) -> None:
    """The cached page carries each session's own CSRF token, never the mark nor another's."""
    opened = open_ticket(staffed)
    app_client = client_for(staffed)
    other_client = app_client.application.test_client()
    first = app_client.get(f"/t/{opened.token}").get_data(as_text=True)
    second = other_client.get(f"/t/{opened.token}").get_data(as_text=True)
    assert page_cache.CSRF_MARK not in first + second
    assert csrf_of(first) != csrf_of(second)
    response = other_client.post(
        f"/t/{opened.token}/responder",
        data={"csrf_token": csrf_of(second), "text": "Gracias, quedo atenta."},
    )
    assert response.status_code in (302, 303), response.status_code
    followed = other_client.get(f"/t/{opened.token}").get_data(as_text=True)
    assert "Gracias, quedo atenta." in followed


def test_the_cache_keeps_one_page_per_key_and_stays_within_its_bytes() -> None:
    """A new stamp replaces a key's page; past the bound, the least recently used go first."""
    pages = page_cache.PageCache(max_bytes=100)
    pages.put(("a",), (1,), "x" * 40)
    pages.put(("a",), (2,), "y" * 40)
    assert pages.get(("a",), (1,)) is None and pages.get(("a",), (2,)) == "y" * 40
    pages.put(("b",), (1,), "z" * 40)
    pages.get(("a",), (2,))  # a is now the most recently used
    pages.put(("c",), (1,), "w" * 40)
    assert pages.get(("b",), (1,)) is None
    assert pages.get(("a",), (2,)) == "y" * 40 and pages.get(("c",), (1,)) == "w" * 40
    pages.put(("d",), (1,), "v" * 101)
    assert pages.get(("d",), (1,)) is None and len(pages) == 2
