"""Header injection (issue 15, item 1): hostile names and subjects in, one-line headers out.

Inbound, every header value `parse_mail` keeps is text without control characters,
whatever encoding carried them. Outbound, a mail we build has exactly the headers we
set, whatever the values held, and the policy refuses to write a header that would
start another line (CVE-2024-6923 on CPython before 3.11.10).
"""

from __future__ import annotations

import base64
import email
import unicodedata
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default

import pytest

from maildesk.domain import ParsedMail
from maildesk.inbound.parse import parse_mail
from maildesk.outbound.compose import POLICY, HeaderInjection, Rendered, build, header_value

ATTACK = "Eve\r\nBcc: victim@x\r\nSubject: pwned"
SHOWN = "Eve Bcc: victim@x Subject: pwned"


def _b(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def _q(text: str) -> str:
    return "=?utf-8?q?" + "".join(f"={b:02X}" for b in text.encode()) + "?="


# (what it is, the From display name as written, the Subject as written)
HOSTILE_HEADERS = [
    ("q-encoded CR/LF", _q(ATTACK), _q(ATTACK)),
    ("b-encoded CR/LF", _b(ATTACK), _b(ATTACK)),
    ("quoted q-encoded name", '"' + _q(ATTACK) + '"', "hola " + _q(ATTACK)),
    (
        "body injection",
        _b("Eve\r\n\r\n<h1>pwned</h1>"),
        _b("x\r\nContent-Type: text/html\r\n\r\n<a>"),
    ),
    ("NUL, VT, FF, ESC, DEL", _q("Eve\x00\x0b\x0c\x1b[31m\x7f"), _q("a\x00b\x1b]0;title\x07c")),
    ("C1 NEL and Unicode separators", _b("Eve\x85Bcc\u2028x\u2029y"), _b("a\x85b\u2028c")),
    (
        "folded encoded words",
        _q("Eve\r\n") + "\r\n " + _q("Bcc: victim@x"),
        _q("a\r\n") + "\r\n\t" + _q("Bcc: x"),
    ),
]


def _mail(name: str, subject: str, extra: str = "") -> bytes:
    return (
        f"From: {name} <eve@example.org>\r\nTo: soporte@example.org\r\nSubject: {subject}\r\n"
        f"Message-ID: <m1@example.org>\r\n{extra}\r\nhola\r\n"
    ).encode()


def _controls(value: str) -> list[str]:
    return [c for c in value if unicodedata.category(c) in ("Cc", "Zl", "Zp")]


def _every_header_value(mail: ParsedMail) -> list[str]:
    values = [mail.subject, mail.from_name, mail.from_addr, mail.message_id or ""]
    values += [*mail.to, *mail.cc, *mail.reply_to, *mail.in_reply_to, *mail.references]
    return values + [v for vs in mail.headers.values() for v in vs]


@pytest.mark.parametrize(
    ("what", "name", "subject"), HOSTILE_HEADERS, ids=[h[0] for h in HOSTILE_HEADERS]
)
def test_parse_keeps_no_control_character_in_any_header(what: str, name: str, subject: str) -> None:
    """Encoded (q, b, quoted, folded) names and subjects holding CR/LF, NUL, ESC or C1 come out as one line of text."""
    mail = parse_mail(_mail(name, subject))
    assert mail.from_addr == "eve@example.org"
    for value in _every_header_value(mail):
        assert not _controls(value), (what, value)
    assert "=?" not in mail.from_name and "=?" not in mail.subject, what
    assert mail.from_name.startswith("Eve")


def test_parse_reads_the_attack_as_the_words_it_holds() -> None:
    """The hostile name stays visible to staff as text: nothing is silently dropped."""
    mail = parse_mail(_mail(_q(ATTACK), _b(ATTACK)))
    assert (mail.from_name, mail.subject) == (SHOWN, SHOWN)


def test_parse_strips_controls_from_raw_8bit_headers_and_message_ids() -> None:
    """Raw 8-bit (UTF-8 NEL, ESC) in a Subject and controls inside Message-ID and References are removed; Ñ stays."""
    raw = (
        b"From: =?utf-8?q?Se=C3=B1ora=0D=0AX?= <eve@example.org>\r\n"
        b"Subject: A\xc3\xb1o \xc2\x85Bcc: x \x1b[2J\r\n"
        b"Message-ID: <a\x01b@example.org>\r\n"
        b"References: <r1@example.org> " + _q("<r2@x>\r\nBcc: y").encode() + b"\r\n\r\nhola\r\n"
    )
    mail = parse_mail(raw)
    for value in _every_header_value(mail):
        assert not _controls(value), value
    assert mail.subject.startswith("Año ")
    assert mail.from_name == "Señora X"
    assert mail.message_id == "<ab@example.org>"


def _confirmation(**fields: str) -> bytes:
    values = {
        "from_name": "Soporte Alameda",
        "to_name": "",
        "subject": "Recibimos su solicitud [#1]",
    }
    values.update(fields)
    return build(
        Rendered(values["subject"], "Gracias, la atenderemos.", "<p>Gracias</p>"),
        from_name=values["from_name"],
        from_addr="soporte@alameda.example",
        to="eve@example.org",
        to_name=values["to_name"],
        message_id="<md.1.x.y@alameda.example>",
        date=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
        loop_marker="soporte@alameda.example",
        reply_to="soporte+1-abc@alameda.example",
        extra_headers={"X-Maildesk-Note": values.get("note", "nota")},
    ).as_bytes()


EXPECTED_HEADERS = [
    "From", "To", "Subject", "Date", "Message-ID", "Reply-To", "X-Maildesk-Loop", "X-Maildesk-Note",
    "MIME-Version", "Content-Type",
]  # fmt: skip

HOSTILE_VALUES = [
    ATTACK,  # raw CR/LF (the stdlib raises on these: the mail would never be built)
    _q(ATTACK),  # an encoded word the stdlib decodes and writes raw (CVE-2024-6923)
    _b("Eve\r\n\r\n<h1>pwned</h1>"),  # a body of its own
    _q(_q(ATTACK)),  # encoded twice
    "Eve\x00Bcc: x\x0bCc: y\x85Z",  # NUL, VT, NEL
    "=?utf-8?q?Eve=0D=0A?= =?utf-8?b?" + base64.b64encode(b"Bcc: x").decode() + "?=",
    # A long name with specials: CPython folds it without its quotes, `<...>` then an address.
    "Vecina Authentication-Results: mx; dmarc=pass From: Ana <ana@alameda.example>, Bcc: v@x",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("field", ["to_name", "from_name", "subject", "note"])
def test_built_mail_has_exactly_the_headers_we_set(field: str, value: str) -> None:
    """Whatever a name, subject or extra header holds, the bytes have our headers once each, no Bcc, one body."""
    raw = _confirmation(**{field: value})
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\x00" not in head and b"\r\n\r\n" not in head
    assert all(b"\r" not in line and b"\n" not in line for line in head.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=default)
    assert list(parsed.keys()) == EXPECTED_HEADERS
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["To"].addresses[0].addr_spec == "eve@example.org"
    assert len(parsed["To"].addresses) == 1
    assert [a.addr_spec for a in parsed["From"].addresses] == ["soporte@alameda.example"]
    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == ["soporte+1-abc@alameda.example"]
    for name in parsed:
        assert not _controls(str(parsed[name])), (name, str(parsed[name]))


def test_header_value_is_one_line_of_the_text_a_reader_sees() -> None:
    """Encoded words are decoded until stable, controls become spaces, accents stay."""
    assert header_value(_q(ATTACK)) == SHOWN
    assert header_value(_q(_q(ATTACK))) == SHOWN
    assert header_value("Señora Núñez\r\n") == "Señora Núñez"


def test_the_policy_refuses_a_header_that_would_start_another() -> None:
    """Belt and braces: a header set around `address()`/`put_header` still cannot write a raw CR/LF."""
    msg = EmailMessage(policy=POLICY)
    msg["To"] = Address(display_name=_q(ATTACK), username="eve", domain="example.org")
    msg.set_content("hola")
    with pytest.raises(HeaderInjection):
        msg.as_bytes()
    with pytest.raises(HeaderInjection):
        msg.as_string()


def test_addresses_holding_c1_controls_are_not_kept() -> None:
    """An address with a raw C1 control (NEL, 8-bit CSI) is no address: it is dropped, not stored."""
    raw = "From: Eve <e\u0085v@example.org>\r\nCc: a\u009bb@x.example, ok@x.example\r\nSubject: x\r\n\r\nhi\r\n"
    mail = parse_mail(raw.encode())
    assert (mail.from_addr, mail.cc) == ("", ("ok@x.example",))
