"""Outbound headers read back exactly as written."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default

from maildesk.domain import Attachment
from maildesk.outbound.compose import Rendered, build

WORDS = "Resumen semanal de la mesa de ayuda: 12 nuevas, 3 cerradas, 1 atrasada, ñandú más"


def test_subject_of_any_length_reads_back_without_a_leading_space() -> None:
    """A subject near the line limit is folded after its first words, never right after `Subject:`."""
    for length in range(40, len(WORDS) + 1):
        subject = WORDS[:length].strip()
        raw = build(
            Rendered(subject, "texto", "<p>texto</p>"),
            from_name="Soporte",
            from_addr="soporte@alameda.example",
            to="vecina@correo.example",
            message_id="<1@alameda.example>",
            date=datetime(2026, 11, 23, 13, 0, tzinfo=UTC),
            loop_marker="soporte@alameda.example",
        ).as_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
        assert b"Subject:\r\n" not in head
        assert email.message_from_bytes(raw, policy=default)["Subject"] == subject


def test_inline_images_sit_beside_the_html_with_their_content_ids() -> None:
    """Inline attachments go into a multipart/related with the HTML, each under its Content-ID; others stay attachments."""
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 40
    raw = build(
        Rendered("Resumen", "Gráficos: volume.png", '<p><img src="cid:volume@desk"></p>'),
        from_name="Soporte",
        from_addr="soporte@alameda.example",
        to="gerente@alameda.example",
        message_id="<2@alameda.example>",
        date=datetime(2026, 11, 23, 13, 0, tzinfo=UTC),
        loop_marker="soporte@alameda.example",
        attachments=[
            Attachment("volume.png", "image/png", png, inline=True, content_id="volume@desk"),
            Attachment("informe.csv", "text/csv", b"a,b\n"),
        ],
    ).as_bytes()
    parsed = email.message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    html = parsed.get_body(("html",))
    assert html is not None and "cid:volume@desk" in str(html.get_content())
    related = [p for p in parsed.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    images = [p for p in related[0].iter_parts() if p.get_content_type() == "image/png"]
    assert [(p["Content-ID"], p.get_content_disposition()) for p in images] == [
        ("<volume@desk>", "inline")
    ]
    assert images[0].get_content() == png
    assert [a.get_filename() for a in parsed.iter_attachments()] == ["informe.csv"]


def test_long_spanish_text_after_ascii_lines_is_base64_not_quoted_printable() -> None:
    """The stdlib sniffs only the first ten lines; the whole text decides here."""
    from maildesk.outbound.compose import transfer_encoding

    head = "".join(f"Campo {n}: valor\n" for n in range(12))
    assert transfer_encoding(head + "ñ" * 5000) == "base64"
    assert transfer_encoding(head + "a" * 5000) == "quoted-printable"
    assert transfer_encoding(head + "Depto 402, torre Ñandú.") is None
