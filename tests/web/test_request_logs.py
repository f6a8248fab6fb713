"""Lines a page logs name the ticket it acted on, and the next request starts clean."""

from __future__ import annotations

from maildesk import logs
from maildesk.context import Desk
from maildesk.web import create_app


def test_a_request_names_its_ticket_and_the_next_one_does_not_inherit_it(desk: Desk) -> None:
    """A ticket action inside a request (`logs.note`) marks its lines; once the request
    ends the thread forgets it, so another request's lines carry no ticket."""
    app = create_app(desk)
    seen: list[tuple[int | None, str | None]] = []

    @app.get("/_probe/<int:number>")
    def probe(number: int) -> str:
        seen.append(logs.current())
        if number:
            logs.note(ticket=number)
        seen.append(logs.current())
        return "ok"

    client = app.test_client()
    assert client.get("/_probe/12").status_code == 200
    assert client.get("/_probe/0").status_code == 200
    assert seen == [(None, None), (12, None), (None, None), (None, None)]
    assert logs.current() == (None, None)
