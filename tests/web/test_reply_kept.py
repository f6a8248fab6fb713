"""A refused reply from the status page gives the page back with what the resident typed."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from maildesk.context import Desk
from maildesk.models import Inbound
from tests.conftest import DeskFactory
from tests.web.conftest import client_for, csrf_of, open_ticket

TYPED = "El agua sigue saliendo por el enchufe del baño; adjunto el video. <b>Ñandú</b>"
KEPT = "El agua sigue saliendo por el enchufe del baño; adjunto el video. &lt;b&gt;Ñandú&lt;/b&gt;"
MB = 1024 * 1024


def _post(desk: Desk, files: list[tuple[io.BytesIO, str]]) -> tuple[int, str]:
    opened = open_ticket(desk)
    client = client_for(desk)
    csrf = csrf_of(client.get(f"/t/{opened.token}").get_data(as_text=True))
    response = client.post(
        f"/t/{opened.token}/responder",
        data={"csrf_token": csrf, "text": TYPED, "files": files},
        content_type="multipart/form-data",
    )
    return response.status_code, response.get_data(as_text=True)


def _inbound(desk: Desk) -> int:
    with desk.db.read_only() as session:
        return session.scalar(select(func.count(Inbound.id))) or 0


def test_a_file_too_large_gives_the_page_back_with_the_text(make_desk: DeskFactory) -> None:
    """One file over web.max_attachment_mb: 413, the reply form still holds the text, nothing enters."""
    desk = make_desk(web={"max_attachment_mb": 1})
    status, html = _post(desk, [(io.BytesIO(b"v" * (MB + 1)), "video.mp4")])
    assert status == 413
    assert f">{KEPT}</textarea>" in html
    assert "Puedes adjuntar hasta 3 archivos de 1 MB cada uno." in html
    assert _inbound(desk) == 1


def test_too_many_files_gives_the_page_back_with_the_text(desk: Desk) -> None:
    """More than web.max_files files: 400 with the form filled in, nothing enters."""
    files = [(io.BytesIO(b"x"), f"f{i}.txt") for i in range(desk.config.web.max_files + 1)]
    status, html = _post(desk, files)
    assert status == 400 and f">{KEPT}</textarea>" in html
    assert _inbound(desk) == 1


def test_files_over_the_whole_request_limit_keep_the_text(make_desk: DeskFactory) -> None:
    """Three files together over what the page accepts in one post still give the text back."""
    desk = make_desk(web={"max_attachment_mb": 1})
    files = [(io.BytesIO(b"p" * (3 * MB // 2)), f"foto{i}.jpg") for i in range(3)]
    status, html = _post(desk, files)
    assert status == 413 and f">{KEPT}</textarea>" in html
    assert _inbound(desk) == 1
