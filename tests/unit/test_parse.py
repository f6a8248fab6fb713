"""parse_mail: real .eml files in, a decoded and sanitised ParsedMail out, never an exception."""

from __future__ import annotations

import email
import email.policy
import random
import struct
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from maildesk.domain import ParsedMail
from maildesk.inbound.parse import parse_mail
from maildesk.mime.charsets import decode_text
from maildesk.mime.tnef import unpack_tnef

MAIL = Path(__file__).resolve().parent.parent / "data" / "mail"


def load(name: str) -> ParsedMail:
    return parse_mail((MAIL / name).read_bytes())


def names(mail: ParsedMail) -> list[str]:
    return [a.filename for a in mail.attachments]


# --- headers -----------------------------------------------------------------


def test_q_encoded_latin1_subject_and_sender_are_decoded() -> None:
    """A Q-encoded ISO-8859-1 subject and sender name come out with accents and Ñ."""
    mail = load("spanish_q_latin1_subject_qp_body.eml")
    assert mail.subject == "Avería en el baño del Ñandú"
    assert mail.from_name == "José Núñez"
    assert mail.from_addr == "jose.nunez@example.es"
    assert mail.to == ("soporte@maildesk.example",)
    assert mail.message_id == "<20250602091500.1234@example.es>"
    assert mail.defects == ()


def test_b_encoded_subject_split_mid_character_is_joined() -> None:
    """UTF-8 B-words that split 'ó' and '—' across words still decode whole."""
    mail = load("spanish_b_utf8_subject_split_words.eml")
    assert mail.subject == "Reclamación: ascensor fuera de servicio — Torre Ñandú"
    assert mail.from_name == "Ana María Muñoz"
    assert mail.defects == ()


def test_windows_1252_and_latin1_words_decode_in_any_header() -> None:
    """windows-1252 words (€, curly quotes, en dash) decode in every header kept."""
    mail = load("spanish_b_utf8_subject_split_words.eml")
    assert mail.header("X-Comentario") == "Presupuesto € 1.200 – “urgente”"
    assert mail.cc == ("admin@torre-nandu.example", "porteria@torre-nandu.example")
    assert mail.headers["cc"] == (
        "Administración “Torre Ñandú” <ADMIN@torre-nandu.example>, "
        "Portería <porteria@torre-nandu.example>",
    )


def test_headers_keep_every_value_in_order() -> None:
    """`headers` holds every header, lower-cased, each value in the order it came."""
    mail = load("broken_threading_headers.eml")
    assert mail.headers["to"] == (
        "Soporte@Maildesk.Example, OTRO@Example.com",
        "tercero@example.com",
    )
    assert list(mail.headers)[:4] == ["from", "to", "reply-to", "subject"]


def test_raw_8bit_latin1_header_is_read_not_dropped() -> None:
    """Raw Latin-1 octets in a header are read as windows-1252 and reported, not dropped."""
    mail = load("garbage_headers.eml")
    assert mail.subject == "Año nuevo, ¿cuándo pagan la expensa?"
    assert mail.header("x-nota") == "Peña"
    assert "header subject: raw 8-bit bytes that are not UTF-8; read as windows-1252" in (
        mail.defects
    )


def test_garbage_headers_give_empty_values_and_defects() -> None:
    """An unparseable From, Date and Message-ID become '', None, None, each with a defect."""
    mail = load("garbage_headers.eml")
    assert (mail.from_addr, mail.date, mail.message_id) == ("", None, None)
    assert mail.to == ("soporte@maildesk.example",)
    assert "From header unreadable: 'el vecino del 3ro'" in mail.defects
    assert "Date header unreadable: 'ayer a la tarde'" in mail.defects
    assert "Message-ID unreadable: '<>'" in mail.defects


def test_missing_from_subject_and_message_id() -> None:
    """A mail without From, Subject or Message-ID still parses, with a defect for the From."""
    mail = load("no_from_no_subject_no_message_id.eml")
    assert (mail.subject, mail.from_addr, mail.message_id) == ("", "", None)
    assert mail.text == "Un mensaje sin remitente ni asunto."
    assert mail.defects == ("no From header",)


def test_threading_headers_are_normalised() -> None:
    """Ids lose comments, gain brackets, lose folding whitespace; commas separate too."""
    mail = load("broken_threading_headers.eml")
    assert mail.message_id == "<CAF1234abcd@mail.example.com>"
    assert mail.in_reply_to == ("<ticket-42.confirm.1@maildesk.example>",)
    assert mail.references == (
        "<ticket-42.open@maildesk.example>",
        "<ticket-42.confirm.1@maildesk.example>",
        "<ticket-42.update.2@maildesk.example>",
    )


def test_addresses_are_lower_cased_and_repeated_headers_merged() -> None:
    """To from two To headers, Reply-To with two mailboxes, all lower-cased."""
    mail = load("broken_threading_headers.eml")
    assert mail.from_addr == "juan@example.com"
    assert mail.to == ("soporte@maildesk.example", "otro@example.com", "tercero@example.com")
    assert mail.reply_to == ("juan.casa@example.com", "otra@example.com")


def test_addresses_mailparser_cannot_read_come_from_the_stdlib() -> None:
    """An unclosed address mail-parser reads as nothing is kept from the stdlib's reading, with a defect."""
    mail = parse_mail(
        b"From: =?utf-8?q?N=C3=BA=C3=B1ez?= <Nunez@Example.org\r\n"
        b"To: soporte@example.org\r\n"
        b"Cc: Ana <ana@example.org\r\n"
        b"Cc: luis@example.org\r\n"
        b"Subject: x\r\n\r\nhola\r\n"
    )
    assert (mail.from_name, mail.from_addr) == ("Núñez", "nunez@example.org")
    assert mail.cc == ("ana@example.org", "luis@example.org")
    assert "mail-parser read no address in from; the stdlib's reading is kept" in mail.defects
    assert "mail-parser read no address in cc; the stdlib's reading is kept" in mail.defects


def test_unreadable_date_is_none_with_a_defect() -> None:
    """An ISO date is not RFC 5322: date None, and the raw value in a defect."""
    mail = load("broken_threading_headers.eml")
    assert mail.date is None
    assert mail.defects == ("Date header unreadable: '2025-06-17 10:00:00'",)


def test_date_is_aware_and_keeps_the_senders_offset() -> None:
    """The Date is timezone-aware, in the sender's offset, and the right instant."""
    mail = load("spanish_q_latin1_subject_qp_body.eml")
    assert mail.date == datetime(2025, 6, 2, 12, 15, tzinfo=UTC)
    assert mail.date is not None and mail.date.utcoffset() == timedelta(hours=-3)


# --- bodies ------------------------------------------------------------------


def test_quoted_printable_latin1_body_is_decoded() -> None:
    """A quoted-printable ISO-8859-1 body is plain Spanish text."""
    mail = load("spanish_q_latin1_subject_qp_body.eml")
    assert mail.text == (
        "Buenos días,\n\nEl baño del departamento 4B tiene una pérdida de agua.\n"
        "¿Pueden enviar a alguien mañana?\n\nSaludos,\nJosé Núñez"
    )
    assert mail.html == ""


def test_8bit_utf8_body_without_transfer_encoding() -> None:
    """An 8-bit UTF-8 body with no Content-Transfer-Encoding is read as UTF-8 (mail-parser#152)."""
    mail = load("utf8_8bit_body_no_cte.eml")
    assert mail.text == (
        "Hola, el portón del garage no cierra y hace ruido: ñ á é í ó ú ü ¿¡ €.\nGracias 🙏"
    )
    assert mail.subject == "Portón del garage"
    assert mail.from_name == "Lucía Fernández"
    assert mail.defects == ()


def test_html_only_mail_is_sanitised() -> None:
    """Scripts, handlers, javascript: links, iframes, forms and live CSS are removed."""
    html = load("html_only_script.eml").html
    lowered = html.lower()
    for banned in ("<script", "onload", "onerror", "javascript", "<iframe", "<form", "<style"):
        assert banned not in lowered
    assert "expression" not in lowered and "position" not in lowered
    assert "Aviso interno" not in html
    assert '<p style="color:red">Estimados vecinos:</p>' in html
    assert '<a href="https://edificio.example/avisos/123" rel="noopener noreferrer">' in html


def test_html_only_mail_text_comes_from_the_html_with_its_links() -> None:
    """With no plain part, text is html2text's rendering, links included."""
    mail = load("html_only_script.eml")
    assert mail.text.startswith("Estimados vecinos:\n\nEl corte de agua será el **martes**.")
    assert "[el portal](https://edificio.example/avisos/123)" in mail.text
    assert "alert" not in mail.text and "document.cookie" not in mail.text


def test_multipart_alternative_prefers_the_plain_part() -> None:
    """text is the plain alternative; html is the sanitised HTML one."""
    mail = load("multipart_alternative.eml")
    assert mail.text == (
        "La luz del pasillo del 7º piso está quemada.\nMás detalles: https://fotos.example/pasillo"
    )
    assert mail.html == (
        '<div dir="ltr"><p>La luz del pasillo del <b>7º piso</b> está quemada.</p>\n'
        '<p>Más detalles: <a href="https://fotos.example/pasillo" rel="noopener noreferrer">'
        "fotos</a></p></div>"
    )
    assert mail.attachments == ()


def test_outlook_reply_in_windows_1252() -> None:
    """Outlook's windows-1252 quoted-printable, MSO markup and threading headers read cleanly."""
    mail = load("outlook_reply_windows1252.eml")
    assert mail.subject == "RE: “Fuga” en el baño – presupuesto €"
    assert mail.from_name == "García, Martín"
    assert mail.from_addr == "martin.garcia@edificio.example"
    assert mail.cc == ("admin@edificio.example",)
    assert mail.in_reply_to == ("<ticket-42.update.2@maildesk.example>",)
    assert mail.references == (
        "<ticket-42.confirm.1@maildesk.example>",
        "<ticket-42.update.2@maildesk.example>",
    )
    assert mail.text.startswith("Perfecto, el “presupuesto” de 350 € está aprobado.\n")
    assert "mso" not in mail.html and "MsoNormal" not in mail.html
    assert "<p>Saludos, Martín</p>" in mail.html
    assert mail.defects == ()


def test_wrong_declared_charsets_are_corrected_and_reported() -> None:
    """UTF-8 labelled Latin-1, Latin-1 labelled UTF-8 and an unknown label all read right."""
    mail = load("wrong_declared_charset.eml")
    assert mail.text == (
        "Señor, la reunión es mañana.\n\nCañería rota en el sótano.\n\nLlave de paso número 3."
    )
    assert "part 2 (text/plain): declared charset iso-8859-1 but the bytes are UTF-8" in (
        mail.defects
    )
    assert "part 3 (text/plain): bytes are not valid utf-8; read as windows-1252" in mail.defects
    assert "part 4 (text/plain): unknown charset 'x-desconocido'; read as windows-1252" in (
        mail.defects
    )


def test_mailparser_text_that_disagrees_with_the_bytes_is_reported() -> None:
    """Where mail-parser's text is mojibake, the defect says so and our decode is used."""
    mail = load("wrong_declared_charset.eml")
    differs = [d for d in mail.defects if "mail-parser's text differs" in d]
    assert [d.split(" ", 2)[1] for d in differs] == ["2", "3", "4"]


def test_iso_2022_jp_body_is_decoded() -> None:
    """A 7-bit ISO-2022-JP body is decoded (mail-parser returns its escape codes)."""
    mail = load("iso2022jp_7bit.eml")
    assert mail.subject == "こんにちは"
    assert mail.text == "こんにちは、水漏れです。"
    assert mail.defects == (
        "part 1 (text/plain): mail-parser's text differs from the decode of the raw bytes; "
        "used the latter",
    )


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        (
            b"Se\xc3\xb1or",
            "iso-8859-1",
            ("Señor", "declared charset iso-8859-1 but the bytes are UTF-8"),
        ),
        (b"\x93hola\x94 \x80", "iso-8859-1", ("“hola” €", None)),
        (
            b"Se\xf1or",
            "us-ascii",
            ("Señor", "declared charset us-ascii but 8-bit bytes; read as windows-1252"),
        ),
        (b"Se\xf1or", None, ("Señor", "no charset declared; read as windows-1252")),
        (b"Se\xc3\xb1or", None, ("Señor", None)),
        (
            b"Se\xc3\xb1or",
            "utf-16",
            ("Señor", "declared charset utf-16 but the bytes are not; read as utf-8"),
        ),
        (b"Se+APE-or", "utf-7", ("Señor", None)),
        (b"", "utf-8", ("", None)),
        (b"hola", '"UTF-8"', ("hola", None)),
        (b"hola", "iso-2022-jp", ("hola", None)),
        (b"hola", "iso-8859-1", ("hola", None)),
        (
            b"Se\xc3\xb1or",
            "us-ascii",
            ("Señor", "declared charset us-ascii but the bytes are UTF-8"),
        ),
        (
            b"Se\xf1or",
            "x-desconocido",
            ("Señor", "unknown charset 'x-desconocido'; read as windows-1252"),
        ),
        (b"Se\xc3\xb1or", "koi8-r", ("Señor", "declared charset koi8-r but the bytes are UTF-8")),
        (
            b"\x93hola\x94",
            "us-ascii",
            ("“hola”", "declared charset us-ascii but 8-bit bytes; read as windows-1252"),
        ),
        (b"abc", "base64", ("abc", None)),
        (b"\xe9t\xe9", "base64", ("été", "bytes are not valid base64; read as windows-1252")),
    ],
)
def test_decode_text_checks_the_label_against_the_bytes(
    data: bytes, label: str | None, expected: tuple[str, str | None]
) -> None:
    """Each label is believed only when the bytes agree with it."""
    assert decode_text(data, label) == expected


# --- attachments -------------------------------------------------------------


def test_inline_images_keep_their_content_id() -> None:
    """multipart/related images are inline attachments with bare content ids; cid: survives."""
    mail = load("multipart_related_inline_image.eml")
    assert [(a.filename, a.content_type, a.inline, a.content_id) for a in mail.attachments] == [
        ("foto.png", "image/png", True, "foto123@torre.example"),
        ("attachment-2.png", "image/png", True, "sello"),
    ]
    assert mail.attachments[0].data.startswith(b"\x89PNG\r\n\x1a\n")
    assert '<img src="cid:foto123@torre.example" alt="foto">' in mail.html
    assert mail.text == "Adjunto foto de la filtración."


def test_cyrillic_file_names_in_every_encoding() -> None:
    """RFC 2231 (also continued), KOI8-R words and raw UTF-8 names all decode (mail-parser#73)."""
    mail = load("cyrillic_filename_rfc2231.eml")
    assert names(mail) == ["отчёт.pdf", "Смета ремонта.xlsx", "Договор.txt", "Акт.doc"]
    assert mail.attachments[0].data.startswith(b"%PDF-1.4")
    assert mail.attachments[2].data == "Договор аренды".encode("koi8-r")
    assert mail.subject == "Отчёт о ремонте"
    assert mail.from_name == "Иван Петров"
    assert mail.text == "Добрый день! Отчёт во вложении."
    assert mail.defects == ()


def test_spanish_accented_file_names_are_kept() -> None:
    """ISO-8859-1 RFC 2231 and windows-1252 encoded-word names keep accents, Ñ and quotes."""
    mail = load("spanish_accents_attachment.eml")
    assert names(mail) == ["Presupuesto reparación Ñandú.pdf", "Cañería “antes”.png"]
    assert [a.content_type for a in mail.attachments] == ["application/pdf", "image/png"]
    assert [a.inline for a in mail.attachments] == [False, False]


def test_unsafe_file_names_are_made_safe() -> None:
    """Paths, bidi overrides, control characters, device names and length are neutralised."""
    mail = load("unsafe_attachment_filenames.eml")
    assert names(mail)[:4] + names(mail)[5:] == [
        "passwd",
        "evil.exe",
        "facturafdp.exe",
        "línea uno.txt",
        "_CON.txt",
        "attachment-7.bin",
        "attachment-8.csv",
        "planilla.xlsx",
    ]
    long_name = names(mail)[4]
    assert long_name.startswith("informe-muy-largo-") and long_name.endswith(".pdf")
    assert len(long_name.encode()) == 200
    assert "attachment 1: file name '../../etc/passwd' saved as 'passwd'" in mail.defects


def test_winmail_dat_is_unpacked_into_its_files_and_body() -> None:
    """winmail.dat gives way to the files inside it, and its body becomes the text."""
    mail = load("outlook_winmail_dat.eml")
    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("presupuesto.txt", "text/plain", b"Total: 1.250 EUR\r\n"),
        ("Reparación baño.csv", "text/csv", b"partida;importe\r\nfontaneria;900\r\n"),
    ]
    assert mail.text == "Hola, adjunto el presupuesto de la reparación del baño."
    assert mail.subject == "Presupuesto baño"
    assert mail.defects == ()


def test_corrupt_winmail_dat_is_kept_with_a_defect() -> None:
    """A winmail.dat tnefparse cannot read stays attached as is, and the defect says why."""
    mail = load("outlook_winmail_dat_corrupt.eml")
    assert names(mail) == ["winmail.dat"]
    assert mail.attachments[0].data.startswith(b"\x78\x9f\x3e\x21")
    assert mail.text == "Adjunto presupuesto."
    assert mail.defects == (
        "part 3: winmail.dat not unpacked (not a TNEF stream (wrong signature)); kept as is",
    )


def test_tnef_with_an_impossible_property_count_is_refused() -> None:
    """A TNEF object announcing 4 billion properties is refused instead of hanging tnefparse."""
    message = email.message_from_bytes((MAIL / "outlook_winmail_dat.eml").read_bytes())
    good = next(p for p in message.walk() if p.get_filename() == "winmail.dat")
    tnef = good.get_payload(decode=True)
    assert isinstance(tnef, bytes)
    props = struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 8
    evil = tnef + struct.pack("<BHHI", 1, 0x9003, 0x0006, len(props)) + props + b"\x00\x00"
    with pytest.raises(ValueError, match="announces more properties"):
        unpack_tnef(evil)


def test_uuencoded_files_are_attachments() -> None:
    """A uuencoded block pasted in the body and an x-uuencode part both become files (#80)."""
    mail = load("uuencoded_body_attachment.eml")
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("lecturas.txt", "text/plain"),
        ("foto.png", "image/png"),
    ]
    assert mail.attachments[0].data == b"Medidor 4B: 001234 m3\nMedidor 5A: 004321 m3\n"
    assert mail.attachments[1].data.startswith(b"\x89PNG")
    assert "begin 644" not in mail.text
    assert mail.text == "Envio las lecturas del mes.\n\n\nSaludos."


def test_attached_message_is_an_eml_file_and_stays_out_of_the_text() -> None:
    """A forwarded message/rfc822 is kept whole as .eml; its body is not mixed into ours."""
    mail = load("forwarded_message_attached.eml")
    assert mail.text == "Les reenvío el reclamo."
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("attachment-1.eml", "message/rfc822")
    ]
    inner = email.message_from_bytes(mail.attachments[0].data, policy=email.policy.default)
    assert inner["Message-ID"] == "<reclamo.1@example.com>"
    assert "ruidos molestos" in inner.get_content()
    assert mail.bounced_message_ids == ()


# --- structure gone wrong ----------------------------------------------------


def test_wrong_mime_boundary_is_recovered() -> None:
    """A boundary the body never uses is replaced by the one it does use, with a defect."""
    mail = load("broken_mime_boundary.eml")
    assert mail.text == "El cuerpo real del mensaje."
    assert names(mail) == ["plano.pdf"]
    assert mail.attachments[0].data.startswith(b"%PDF-1.4")
    assert "part 1: MIME boundary not found; recovered '----=_Part_0_222222'" in mail.defects
    assert not any("mail-parser's text differs" in d for d in mail.defects)


def test_truncated_multipart_keeps_what_arrived() -> None:
    """A mail cut mid-attachment keeps its text and the partial file, and says it was cut."""
    mail = load("truncated_multipart.eml")
    assert mail.text == "Se cortó la conexión."
    assert names(mail) == ["acta.pdf"]
    assert mail.attachments[0].data.startswith(b"%PDF-1.4")
    assert "part 1 (multipart/mixed): CloseBoundaryNotFoundDefect" in mail.defects


# --- bounces -----------------------------------------------------------------


def test_dsn_reports_the_bounced_message_id() -> None:
    """A multipart/report DSN names the Message-ID of our original, not its own."""
    mail = load("dsn_bounce_multipart_report.eml")
    assert mail.bounced_message_ids == ("<ticket-42.confirm.1@maildesk.example>",)
    assert mail.from_addr == "mailer-daemon@mx.example.net"
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("attachment-1.txt", "message/delivery-status"),
        ("attachment-2.eml", "message/rfc822"),
    ]
    assert mail.text.startswith("This is the mail system at host mx.example.net.")


def test_exchange_style_bounce_with_original_headers() -> None:
    """A non-standard bounce with text/rfc822-headers names the original's Message-ID."""
    mail = load("bounce_exchange_rfc822_headers.eml")
    assert mail.bounced_message_ids == ("<ticket-42.confirm.2@maildesk.example>",)
    assert mail.subject == "No se puede entregar: [#42] Recibimos su pedido"


def test_qmail_bounce_with_the_original_inline() -> None:
    """A qmail failure notice names the Message-ID found in the copied message."""
    mail = load("bounce_qmail_failure_notice.eml")
    assert mail.bounced_message_ids == ("<ticket-7.closed@maildesk.example>",)


@pytest.mark.parametrize(
    "name",
    [
        "mdn_read_receipt.eml",
        "forwarded_message_attached.eml",
        "outlook_reply_windows1252.eml",
        "multipart_alternative.eml",
    ],
)
def test_mail_that_is_not_a_bounce_names_no_bounced_ids(name: str) -> None:
    """Read receipts, forwards and replies are not bounces, whatever they attach or cite."""
    assert load(name).bounced_message_ids == ()


# --- never raise -------------------------------------------------------------


def test_empty_input() -> None:
    """No bytes at all is an empty mail with its defect, not an exception."""
    mail = parse_mail(b"")
    assert (mail.message_id, mail.subject, mail.from_addr, mail.text) == (None, "", "", "")
    assert mail.defects == ("no From header",)


def test_mailparser_failure_falls_back_to_the_stdlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """If mail-parser raises, the stdlib reads the same mail and the defect records it."""

    def broken(message: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("mailparser.MailParser", broken)
    mail = load("cyrillic_filename_rfc2231.eml")
    assert mail.defects == ("mail-parser failed: RuntimeError: boom",)
    assert mail.subject == "Отчёт о ремонте"
    assert mail.from_addr == "ivan.petrov@example.ru"
    assert mail.date == datetime(2025, 6, 8, 15, 0, tzinfo=timezone(timedelta(hours=3)))
    assert names(mail) == ["отчёт.pdf", "Смета ремонта.xlsx", "Договор.txt", "Акт.doc"]
    assert mail.text == "Добрый день! Отчёт во вложении."


@pytest.mark.parametrize(
    ("name", "error", "text"),
    [
        (
            "mailparser_crash_bad_base64_sender.eml",
            "HeaderParseError",
            "El timbre del 2C no suena.",
        ),
        (
            "mailparser_crash_nested_broken_boundary.eml",
            "AttributeError",
            "La caldera no enciende.",
        ),
        ("mailparser_crash_nul_in_charset.eml", "ValueError", "Presión de agua baja."),
        ("mailparser_crash_mixed_rfc2231_sections.eml", "TypeError", "Ver plano adjunto."),
    ],
)
def test_mails_that_crash_mailparser_are_read_by_the_stdlib(
    name: str, error: str, text: str
) -> None:
    """Each of these makes mail-parser 4.8.0 raise; the stdlib reading keeps the mail whole."""
    mail = load(name)
    assert mail.defects[0].startswith(f"mail-parser failed: {error}")
    assert mail.text == text
    assert mail.from_addr in ("ana@example.com", "a@example.com")
    assert mail.message_id is not None and mail.date is not None


def test_stdlib_reading_survives_what_crashed_mailparser() -> None:
    """The broken parts mail-parser choked on are recovered or kept, each with its defect."""
    sender = load("mailparser_crash_bad_base64_sender.eml")
    assert sender.from_name == "Ana Muño"
    assert "header from: broken base64 in '=?utf-8?B?IE11w7Fve?='; read what it held" in (
        sender.defects
    )
    nested = load("mailparser_crash_nested_broken_boundary.eml")
    assert [(a.filename, a.data) for a in nested.attachments] == [("manual.pdf", b"%PDF-1.4\n")]
    assert "part 2: MIME boundary not found; recovered 'inner-real'" in nested.defects
    mixed = load("mailparser_crash_mixed_rfc2231_sections.eml")
    assert [(a.filename, a.data) for a in mixed.attachments] == [
        ("attachment-1.pdf", b"%PDF-1.4\n")
    ]
    assert any(d.startswith("part 3: file name unreadable (TypeError") for d in mixed.defects)


def test_both_parsers_failing_leaves_headers_and_raw_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """With both parsers down, headers are read line by line and the body kept as text."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("down")

    monkeypatch.setattr("maildesk.mime.tree.message_from_bytes", broken)  # both read through it
    mail = load("spanish_q_latin1_subject_qp_body.eml")
    assert mail.subject == "Avería en el baño del Ñandú"
    assert mail.from_addr == "jose.nunez@example.es"
    assert mail.message_id == "<20250602091500.1234@example.es>"
    assert mail.text.startswith("Buenos d=EDas,")
    assert mail.defects == (
        "mail-parser failed: RuntimeError: down",
        "stdlib email parser failed: RuntimeError: down",
        "body kept as undecoded text",
    )


def test_absurdly_nested_mail_still_gives_its_headers() -> None:
    """3,000 nested multiparts defeat both parsers; the headers are still read."""
    raw = b"From: a@example.com\nSubject: hondo\nMessage-ID: <deep@example.com>\n"
    for level in range(3000):
        raw += f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'.encode()
    mail = parse_mail(raw + b"Content-Type: text/plain\n\nhola\n")
    assert (mail.subject, mail.message_id, mail.from_addr) == (
        "hondo",
        "<deep@example.com>",
        "a@example.com",
    )
    assert mail.defects[0].startswith("mail-parser failed: MailParserRecursionError")


_NASTY = (
    b"\x00",
    b"\r",
    b"\xff\xfe",
    b"\xc3",
    b"=?utf-8?B?",
    b"=?x-unknown?Q?=FF?=",
    b"?=",
    b"--",
    b'\nContent-Type: multipart/mixed; boundary="x"\n',
    b"\nContent-Transfer-Encoding: base64\n",
    b"\nContent-Type: application/ms-tnef\n\n",
    b"\nbegin 644 ../x\n",
    b"\nend\n",
    b"<script>",
    b"filename*=utf-8''%FF%00",
    b"\n\n",
)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(data) + 1)
        op = rng.randrange(6)
        if op == 0:
            data = data[:at]
        elif op == 1:
            flipped = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                if flipped:
                    flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            data = bytes(flipped)
        elif op == 2:
            data = data[:at] + rng.choice(_NASTY) + data[at:]
        elif op == 3:
            data = data[:at] + data[at + rng.randint(1, 200) :]
        elif op == 4:
            data = data[:at] + data[at : at + rng.randint(1, 400)] * 2 + data[at:]
        else:
            lines = data.split(b"\n")
            rng.shuffle(lines[: rng.randint(2, max(2, len(lines)))])
            data = b"\n".join(lines)
    return data


def _strings(mail: ParsedMail) -> list[str]:
    values = [mail.subject, mail.from_addr, mail.from_name, mail.text, mail.html]
    values += [mail.message_id or "", *mail.to, *mail.cc, *mail.reply_to]
    values += [*mail.in_reply_to, *mail.references, *mail.defects, *mail.bounced_message_ids]
    values += [v for a in mail.attachments for v in (a.filename, a.content_id or "")]
    for key, header_values in mail.headers.items():
        values += [key, *header_values]
    return values


class _LiveMarkup(HTMLParser):
    """Collects tags and attributes that could run code, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "form", "style", "link", "meta"):
            self.found.append(tag)
        for name, value in attrs:
            url = "".join((value or "").split()).lower()
            if name.startswith("on") or url.startswith(("javascript:", "vbscript:", "data:")):
                self.found.append(f"{tag} {name}={value!r}")


def _live_markup(html: str) -> list[str]:
    parser = _LiveMarkup()
    parser.feed(html)
    parser.close()
    return parser.found


def test_sanitised_html_has_no_live_markup() -> None:
    """The structural check used by the fuzz test sees what the fixture's attacks were."""
    raw = (MAIL / "html_only_script.eml").read_bytes().decode()
    body = raw.split("\n\n", 1)[1]
    assert _live_markup(body)[:3] == ["style", "script", "body onload='steal()'"]
    assert _live_markup(load("html_only_script.eml").html) == []


def test_mutated_fixtures_never_raise_and_stay_clean() -> None:
    """Hundreds of truncated and corrupted fixtures all parse to clean, safe values."""
    rng = random.Random(20250602)
    fixtures = sorted(MAIL.glob("*.eml"))
    assert len(fixtures) >= 20
    for round_ in range(16):
        for path in fixtures:
            raw = _mutate(rng, path.read_bytes())
            mail = parse_mail(raw)
            case = f"round {round_}, {path.name}"
            assert isinstance(mail, ParsedMail), case
            for value in _strings(mail):
                assert isinstance(value, str) and "\x00" not in value, case
                value.encode("utf-8")  # no lone surrogates: PostgreSQL must take it
            assert _live_markup(mail.html) == [], case
            assert mail.date is None or mail.date.tzinfo is not None, case
            assert mail.message_id is None or mail.message_id.startswith("<"), case
            assert all(a == a.lower() for a in (*mail.to, *mail.cc, *mail.reply_to)), case
            for attachment in mail.attachments:
                assert isinstance(attachment.data, bytes), case
                assert attachment.filename and "/" not in attachment.filename, case
                assert "\\" not in attachment.filename, case
                assert len(attachment.filename.encode()) <= 200, case
