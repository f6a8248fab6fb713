"""strip_reply: only what the writer wrote in a reply reaches the ticket."""

from __future__ import annotations

import email
import email.policy
import random
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal, TypedDict

import pytest

from maildesk.inbound.parse import parse_mail
from maildesk.inbound.quotes import strip_named_signature, strip_reply
from tests.clients import reply
from tests.mails import make_mail

ORIGINAL_BODY = (
    "Hola, hay una fuga de agua en el baño del depto 402, torre B.\n"
    "El agua sale por debajo del lavamanos y ya llegó al pasillo.\n"
    "\n"
    "Saludos,\n"
    "María Ñúñez\n"
    "-- \n"
    "Depto 402, torre B"
)
ORIGINAL = make_mail(
    message_id="<orig-402@correo.example>",
    body=ORIGINAL_BODY,
    cc=("administracion@alameda.example",),
)


class Staff(TypedDict):
    sender: str
    sender_name: str


STAFF: Staff = {"sender": "pedro.soto@alameda.example", "sender_name": "Pedro Soto"}
COMMANDS = "#nota revisar llave de paso\nHola María, mañana vamos."

Client = Literal["gmail", "outlook", "apple", "thunderbird"]
Language = Literal["es", "en"]
CLIENTS: tuple[Client, ...] = ("gmail", "outlook", "apple", "thunderbird")
LANGUAGES: tuple[Language, ...] = ("es", "en")
TEXTS = {
    "commands": COMMANDS,
    "one-line": "Sí, el técnico llega a las 10:00 🙂 (Ñandú)",
    "paragraphs": "Hola María:\n\nMañana vamos con el gasfíter.\nDeje la llave del medidor abierta.\n\nSaludos, Pedro",
}


@dataclass(frozen=True)
class Bodies:
    """A reply's bodies: as stored (parse_mail: text, sanitised HTML) and the HTML as sent."""

    text: str
    html: str
    raw_html: str


def bodies(raw: bytes) -> Bodies:
    parsed = parse_mail(raw)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("html",))
    raw_html = str(part.get_content()) if isinstance(part, EmailMessage) else ""
    return Bodies(parsed.text, parsed.html, raw_html)


def plain_of(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def gmail_quote(text: str) -> str:
    """A Gmail-style reply: `text`, then the attribution and a quoted original."""
    return (
        f"{text}\n\nEl lun, 23 nov 2026 a las 10:15, Ana Pérez (<ana@x.cl>) escribió:\n\n"
        "> Hola, ¿vienen mañana?\n>\n> Ana"
    )


# --- every client, every language, plain, HTML and both ----------------------

TABLE = [
    pytest.param(client, language, mode, name, id=f"{client}-{language}-{mode}-{name}")
    for client in CLIENTS
    for language in LANGUAGES
    for mode in ("plain", "html", "both")
    for name in TEXTS
]


@pytest.mark.parametrize(("client", "language", "mode", "name"), TABLE)
def test_client_reply_gives_exactly_the_new_text(
    client: Client, language: Language, mode: str, name: str
) -> None:
    """Each client's reply, read as plain text, HTML or both, gives exactly the new text."""
    text = TEXTS[name]
    html = None if mode == "plain" else True
    raw = reply(ORIGINAL, client=client, language=language, text=text, html=html, **STAFF)
    got = bodies(raw)
    if mode == "plain":
        assert strip_reply(got.text) == text
    elif mode == "html":
        assert got.raw_html, "the client sent no HTML part"
        assert strip_reply("", got.raw_html) == text
        assert strip_reply("", got.html) == text
    else:
        assert strip_reply(got.text, got.html) == text
        assert strip_reply(got.text, got.raw_html) == text


@pytest.mark.parametrize("client", CLIENTS)
def test_quoted_original_really_is_in_the_reply(client: Client) -> None:
    """The test replies carry the quoted original, so the table above strips something."""
    raw = reply(ORIGINAL, client=client, language="es", text=COMMANDS, **STAFF)
    text = bodies(raw).text
    assert "depto 402, torre B" in text
    assert text.strip() != COMMANDS


# --- quote headers -------------------------------------------------------------


@pytest.mark.parametrize(
    "quoted",
    [
        pytest.param(
            "El lun, 23 nov 2026 a las 10:15, Ana Pérez (<ana@x.cl>)\nescribió:\n\n> Hola",
            id="es-verb-wrapped",
        ),
        pytest.param(
            "El lun, 23 nov 2026 a las 10:15, Ana María Pérez Sotomayor\n"
            "(<ana.maria.perez@correo.example>) escribió:\n\n> Hola",
            id="es-address-wrapped",
        ),
        pytest.param(
            "El lun, 23 nov 2026 a las 10:15, Ana María Pérez Sotomayor de la Fuente\n"
            "Valenzuela (<ana.maria.perez.sotomayor@correo.example>)\nescribió:\n\n> Hola",
            id="es-three-lines",
        ),
        pytest.param(
            "On Mon, Nov 23, 2026 at 10:15 AM Ana Pérez <ana@x.cl>\nwrote:\n\n> Hi", id="en"
        ),
    ],
)
def test_gmail_header_wrapped_over_lines_is_cut(quoted: str) -> None:
    """Gmail's attribution hard-wrapped over two or three lines still starts the quote."""
    assert strip_reply(f"{COMMANDS}\n\n{quoted}") == COMMANDS


def test_gmail_wraps_a_long_attribution_and_it_is_still_cut() -> None:
    """A real Gmail reply to a sender with a long name wraps its attribution, and it is cut."""
    original = make_mail(
        sender="ana.maria.sotomayor@correo.example",
        sender_name="Ana María Sotomayor Valenzuela",
        body="¿Vienen mañana?",
    )
    raw = reply(original, client="gmail", language="es", text=COMMANDS, **STAFF)
    header = [line for line in plain_of(raw).splitlines() if "escribió:" in line]
    assert len(header) == 1 and not header[0].startswith("El ")
    assert strip_reply(bodies(raw).text) == COMMANDS


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("El 23 nov 2026, a las 10:15, Ana Pérez <ana@x.cl> escribió:", id="apple-es"),
        pytest.param("On Nov 23, 2026, at 10:15 AM, Ana <ana@x.cl> wrote:", id="apple-en"),
        pytest.param("El 23/11/26 a las 10:15, Ana Pérez escribió:", id="thunderbird-es"),
        pytest.param("On 11/23/26 10:15 AM, Ana wrote:", id="thunderbird-en"),
        pytest.param(
            "Em seg., 23 de nov. de 2026 às 10:15, Ana <ana@x.cl> escreveu:", id="gmail-pt"
        ),
        pytest.param("Le lun. 23 nov. 2026 à 10:15, Ana <ana@x.cl> a écrit :", id="gmail-fr"),
        pytest.param("Am Mo., 23. Nov. 2026 um 10:15 Uhr schrieb Ana <ana@x.cl>:", id="gmail-de"),
        pytest.param(
            "Il giorno lun 23 nov 2026 alle ore 10:15 Ana <ana@x.cl> ha scritto:", id="it"
        ),
        pytest.param("Op ma 23 nov 2026 om 10:15 schreef Ana <ana@x.cl>:", id="nl"),
    ],
)
def test_attribution_lines_start_the_quote(header: str) -> None:
    """Apple, Thunderbird and other languages' attribution lines start the quoted history."""
    assert strip_reply(f"Listo, cerrado.\n\n{header}\n> Hola\n> Ana") == "Listo, cerrado."


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(
            "________________________________\n"
            "De: Ana Pérez <ana@x.cl>\n"
            "Enviado: lunes, 23 de noviembre de 2026 10:15\n"
            "Para: soporte@alameda.example <soporte@alameda.example>\n"
            "Asunto: Fuga de agua\n\nHola, hay una fuga.",
            id="underscores-es",
        ),
        pytest.param(
            "________________________________\n"
            "From: Ana Pérez <ana@x.cl>\n"
            "Sent: Monday, November 23, 2026 10:15 AM\n"
            "To: soporte@alameda.example\n"
            "Cc: administracion@alameda.example\n"
            "Subject: Water leak\n\nHi, there is a leak.",
            id="underscores-en",
        ),
        pytest.param(
            "De: Ana Pérez <ana@x.cl>\n"
            "Enviado el: lunes, 23 de noviembre de 2026 10:15\n"
            "Para: Soporte Alameda <soporte@alameda.example>; Conserjería\n"
            "  <conserjeria@alameda.example>\n"
            "CC: administracion@alameda.example\n"
            "Asunto: RE: Fuga de agua\n\nHola, hay una fuga.",
            id="classic-es-wrapped-to",
        ),
        pytest.param(
            "From: Ana Pérez [mailto:ana@x.cl]\nDate: Monday, November 23, 2026 10:15\n"
            "Subject: Water leak\n\nHi",
            id="date-and-subject",
        ),
        pytest.param("-----Mensaje original-----\nDe: Ana\nHola", id="mensaje-original"),
        pytest.param("-----Original Message-----\nFrom: Ana\nHi", id="original-message"),
    ],
)
def test_outlook_header_blocks_start_the_quote(block: str) -> None:
    """Outlook's De:/Enviado:/Para:/Asunto: block, with or without underscores, starts the quote."""
    assert strip_reply(f"{COMMANDS}\n\n{block}") == COMMANDS


def test_outlook_underscores_right_under_the_text_are_cut() -> None:
    """Outlook's line of underscores right under the new text goes with the block it opens."""
    text = f"{COMMANDS}\n________________________________\nDe: Ana <ana@x.cl>\nEnviado: hoy\nPara: x\n\nHola"
    assert strip_reply(text) == COMMANDS


def test_underscore_line_alone_is_not_a_quote() -> None:
    """A line of underscores that opens no header block is the writer's decoration."""
    text = f"{COMMANDS}\n________________________________\nPedro Soto, conserje"
    assert strip_reply(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "Ayer la vecina del 402 escribió: que no tiene agua desde el lunes a las 10:15.",
            id="mid-sentence",
        ),
        pytest.param(
            "El administrador escribió:\nque mañana cortan el agua a las 10:00.", id="no-date"
        ),
        pytest.param(
            "El lunes 23 a las 10:15 la vecina escribió:\nque el agua sale café.",
            id="date-but-nothing-quoted",
        ),
        pytest.param(
            "On Monday at 10:15 the plumber wrote:\nthe valve is broken.", id="en-nothing-quoted"
        ),
    ],
)
def test_escribio_in_the_writers_own_text_does_not_cut(text: str) -> None:
    """ "escribió:"/"wrote:" in the writer's text, with no quote after it, cuts nothing."""
    assert strip_reply(text) == text


def test_attribution_needs_a_date_or_time() -> None:
    """A line like an attribution, with an address but no date or time, is the writer's."""
    text = (
        "Aviso:\nEl conserje (conserje@alameda.example) escribió:\nque el ascensor está detenido."
    )
    assert strip_reply(text) == text


def test_line_above_a_header_is_not_taken_for_its_first_half() -> None:
    """A writer's line without a full stop right above the header stays; the header goes."""
    text = (
        "El martes vamos con el gasfíter\n"
        "El lun, 23 nov 2026 a las 10:15, Ana (<ana@x.cl>) escribió:\n> ¿Vienen?"
    )
    assert strip_reply(text) == "El martes vamos con el gasfíter"


def test_attribution_without_address_is_a_header_when_quotes_follow() -> None:
    """The same kind of line followed by ">" lines is a quote header."""
    text = "Vamos mañana.\n\nEl lunes 23 a las 10:15 la vecina escribió:\n> que el agua sale café."
    assert strip_reply(text) == "Vamos mañana."


def test_html_confirms_an_attribution_with_no_quotes_after_it() -> None:
    """An attribution followed by unquoted text is cut when the HTML part holds the quote."""
    text = "Listo.\n\nEl 23/11/26 a las 10:15, Ana Pérez escribió:\nHola, hay una fuga."
    html = (
        "<p>Listo.</p><div class='moz-cite-prefix'>El 23/11/26 a las 10:15, Ana Pérez escribió:"
        "</div><blockquote type='cite'>Hola, hay una fuga.</blockquote>"
    )
    assert strip_reply(text) == text
    assert strip_reply(text, html) == "Listo."


# --- signatures and footers ----------------------------------------------------


@pytest.mark.parametrize("client", ["gmail", "thunderbird"])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("mode", ["plain", "html"])
def test_delimited_signature_is_cut(client: Client, language: Language, mode: str) -> None:
    """Gmail's and Thunderbird's "-- " signature goes, in text and in HTML."""
    raw = reply(
        ORIGINAL,
        client=client,
        language=language,
        text=COMMANDS,
        signature="Pedro Soto\nConserje, Edificio Alameda\n+56 9 1234 5678",
        html=True if mode == "html" else None,
        **STAFF,
    )
    got = bodies(raw)
    assert "+56 9 1234 5678" in (got.text if mode == "plain" else got.raw_html)
    if mode == "plain":
        assert strip_reply(got.text) == COMMANDS
    else:
        assert strip_reply("", got.raw_html) == COMMANDS
        assert strip_reply("", got.html) == COMMANDS


@pytest.mark.parametrize("client", ["outlook", "apple"])
def test_signature_without_delimiter_stays(client: Client) -> None:
    """Outlook and Apple Mail put no delimiter before a signature, so it stays with the text."""
    raw = reply(
        ORIGINAL, client=client, language="es", text=COMMANDS, signature="Pedro Soto", **STAFF
    )
    got = bodies(raw)
    assert strip_reply(got.text, got.html) == f"{COMMANDS}\n\nPedro Soto"


@pytest.mark.parametrize("delimiter", ["-- ", "--"])
def test_signature_delimiter_cuts_everything_after_it(delimiter: str) -> None:
    """Everything from the "-- " line on (also "--" whose space was trimmed) goes."""
    text = f"{COMMANDS}\n{delimiter}\nPedro Soto\nFono 2 2345 6789"
    assert strip_reply(gmail_quote(text)) == COMMANDS


def test_closing_words_are_not_a_signature() -> None:
    """ "Saludos, Ana" and "Atentamente," stay: they are the writer's words."""
    text = "Gracias por avisar.\n\nSaludos,\nAna\n\nAtentamente,\nLa administración"
    assert strip_reply(gmail_quote(text)) == text


FOOTERS = [
    "Enviado desde mi iPhone",
    "Sent from my iPhone",
    "Enviado desde mi iPad",
    "Enviado desde Outlook para Android",
    "Obtener Outlook para iOS<https://aka.ms/o0ukef>",
    "Get Outlook for Android<https://aka.ms/AAb9ysg>",
    "Sent from Mail for Windows",
    "Enviado desde Correo para Windows",
    "Enviado desde mi Samsung Galaxy",
    "Enviado desde mi smartphone Samsung Galaxy.",
    "Sent from my Galaxy",
    "Sent from Yahoo Mail on Android",
    "Enviado do meu iPhone",
    "Envoyé de mon iPhone",
    "Von meinem iPhone gesendet",
]


@pytest.mark.parametrize("footer", FOOTERS)
def test_mobile_footer_is_cut(footer: str) -> None:
    """A phone app's footer under the new text goes."""
    assert strip_reply(gmail_quote(f"{COMMANDS}\n\n{footer}")) == COMMANDS


@pytest.mark.parametrize("footer", FOOTERS[:4])
def test_mobile_footer_alone_is_cut_without_any_quote(footer: str) -> None:
    """A footer ending a mail with no quote at all goes too."""
    assert strip_reply(f"{COMMANDS}\n\n{footer}\n") == COMMANDS


def test_sentence_like_a_footer_stays() -> None:
    """ "Enviado desde la conserjería" names no phone or app: it is the writer's line."""
    text = "Le dejé el paquete.\nEnviado desde la conserjería a las 10."
    assert strip_reply(text) == text


@pytest.mark.parametrize("client", ["apple", "outlook", "thunderbird"])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("mode", ["plain", "html", "both"])
def test_client_mobile_footer_is_cut(client: Client, language: Language, mode: str) -> None:
    """iOS Mail's, Outlook for iOS's and K-9's footers go, the K-9 one wrapped by format=flowed."""
    raw = reply(
        ORIGINAL,
        client=client,
        language=language,
        text=COMMANDS,
        mobile=True,
        html=None if mode == "plain" else True,
        **STAFF,
    )
    got = bodies(raw)
    assert any(word in got.text for word in ("iPhone", "Outlook", "K-9"))
    if mode == "plain":
        assert strip_reply(got.text) == COMMANDS
    elif mode == "html":
        assert strip_reply("", got.raw_html) == COMMANDS
        assert strip_reply("", got.html) == COMMANDS
    else:
        assert strip_reply(got.text, got.html) == COMMANDS


# --- replies below and between the quotes, and nothing new ---------------------


def test_bottom_posted_reply_gives_the_text_below() -> None:
    """A reply written under the quote (Thunderbird's default) gives the text below it."""
    text = (
        "El 23/11/26 a las 10:15, Ana Pérez escribió:\n"
        "> ¿Vienen mañana?\n"
        ">\n"
        "> Ana\n"
        "\n"
        "Sí, mañana a las 10.\n"
        "Lleve la llave.\n"
        "\n"
        "-- \n"
        "Pedro"
    )
    assert strip_reply(text) == "Sí, mañana a las 10.\nLleve la llave."


def test_bottom_posted_reply_under_a_quoted_attribution() -> None:
    """Under iOS Mail's quoted attribution, the text below the quote is the reply."""
    text = "> El 23 nov 2026, a las 10:15, Ana <ana@x.cl> escribió:\n>\n> ¿Vienen?\n\nSí, vamos."
    assert strip_reply(text) == "Sí, vamos."


def test_bottom_posted_html_reply_gives_the_text_below() -> None:
    """In HTML too: the text after Thunderbird's cite prefix and blockquote is the reply."""
    html = (
        '<div class="moz-cite-prefix">El 23/11/26 a las 10:15, Ana Pérez escribió:<br></div>'
        '<blockquote type="cite" cite="mid:a@x">¿Vienen mañana?</blockquote>'
        "<p>Sí, mañana a las 10.<br>Lleve la llave.</p>"
    )
    assert strip_reply("", html) == "Sí, mañana a las 10.\nLleve la llave."


def test_inline_answers_give_the_unquoted_blocks() -> None:
    """Answers written between quoted lines come back, one block each, without the quotes."""
    text = (
        "El lun, 23 nov 2026 a las 10:15, Ana Pérez (<ana@x.cl>) escribió:\n"
        "> ¿Vienen mañana?\n"
        "Sí, a las 10.\n"
        "> ¿Traen la llave?\n"
        "\n"
        "No, la tiene el conserje.\n"
        "Pregunte en portería.\n"
        "> Gracias"
    )
    assert strip_reply(text) == (
        "Sí, a las 10.\n\nNo, la tiene el conserje.\nPregunte en portería."
    )


def test_preamble_and_inline_answers_are_both_kept() -> None:
    """A line above the quote and answers inside it are all the writer's."""
    text = (
        "Respondo entre líneas.\n\n"
        "El lun, 23 nov 2026 a las 10:15, Ana Pérez (<ana@x.cl>) escribió:\n"
        "> ¿Vienen mañana?\n"
        "Sí.\n"
    )
    assert strip_reply(text) == "Respondo entre líneas.\n\nSí."


@pytest.mark.parametrize("client", CLIENTS)
def test_reply_with_nothing_new_comes_back_whole(client: Client) -> None:
    """A reply with no new text is never stripped to nothing: the whole text comes back."""
    raw = reply(ORIGINAL, client=client, language="es", text="", **STAFF)
    text = bodies(raw).text
    assert strip_reply(text) == text.strip("\n")
    assert "Hola, hay una fuga" in strip_reply(text)


def test_only_quoted_lines_come_back_whole() -> None:
    """A text of ">" lines only comes back as it is."""
    assert strip_reply("\n> Hola\n> Ana\n") == "> Hola\n> Ana"


def test_trailing_quote_block_without_header_is_cut() -> None:
    """A block of ">" lines ending the mail, with no header, is quoted history."""
    assert strip_reply(f"{COMMANDS}\n\n> Hola\n>\n> Ana\n\n") == COMMANDS


# --- what is not a quote -------------------------------------------------------


def test_greater_than_sign_in_text_is_not_a_quote() -> None:
    """ "temperatura > 30 grados" and a line starting ">30" are the writer's text."""
    text = "La temperatura > 30 grados en la sala de bombas.\n>30 grados corta el agua."
    assert strip_reply(text) == text


@pytest.mark.parametrize("client", CLIENTS)
def test_greater_than_sign_survives_a_client_reply(client: Client) -> None:
    """A ">" inside the new text survives each client's quoting, in text and HTML."""
    text = "#nota temperatura > 30 grados\nRevisar la bomba."
    raw = reply(ORIGINAL, client=client, language="es", text=text, html=True, **STAFF)
    got = bodies(raw)
    assert strip_reply(got.text) == text
    assert strip_reply("", got.raw_html) == text


def test_text_with_no_quote_is_only_trimmed() -> None:
    """A mail with nothing quoted keeps every line, indentation and emoji; blank edges go."""
    text = "\n\n#cerrar\n  Listo 👍, ÑANDÚ revisado.\n\n\tTabulado\n\n"
    assert strip_reply(text) == "#cerrar\n  Listo 👍, ÑANDÚ revisado.\n\n\tTabulado"


def test_crlf_line_ends_are_read() -> None:
    """CRLF line ends are read like LF ones."""
    assert strip_reply(gmail_quote(COMMANDS).replace("\n", "\r\n")) == COMMANDS


def test_empty_mail_gives_empty_text() -> None:
    """No text and no HTML give the empty string."""
    assert strip_reply("", "") == ""
    assert strip_reply("\n \n", "") == ""


# --- forwards --------------------------------------------------------------------

GMAIL_FORWARD = (
    "Miren lo que me llegó.\n\n"
    "---------- Forwarded message ---------\n"
    "De: Municipalidad <avisos@muni.example>\n"
    "Date: lun, 23 nov 2026 a las 9:00\n"
    "Subject: Corte de agua\n"
    "To: <ana@x.cl>\n"
    "\n"
    "Mañana se cortará el agua de 9:00 a 13:00."
)
APPLE_FORWARD = (
    "Miren lo que me llegó.\n\n"
    "> Inicio del mensaje reenviado:\n"
    ">\n"
    "> De: Municipalidad <avisos@muni.example>\n"
    "> Asunto: Corte de agua\n"
    ">\n"
    "> Mañana se cortará el agua de 9:00 a 13:00."
)
THUNDERBIRD_FORWARD = (
    "Miren lo que me llegó.\n"
    "-- \n"
    "Ana\n\n"
    "-------- Mensaje reenviado --------\n"
    "Asunto: Corte de agua\n"
    "Fecha: Mon, 23 Nov 2026 09:00:00 -0300\n"
    "De: Municipalidad <avisos@muni.example>\n"
    "\n"
    "Mañana se cortará el agua de 9:00 a 13:00."
)


@pytest.mark.parametrize(
    "text", [GMAIL_FORWARD, APPLE_FORWARD, THUNDERBIRD_FORWARD], ids=["gmail", "apple", "tb"]
)
def test_forward_is_cut_by_default(text: str) -> None:
    """By default (staff) a forwarded mail goes like quoted history: only the note stays."""
    assert strip_reply(text) == "Miren lo que me llegó."


@pytest.mark.parametrize(
    "text", [GMAIL_FORWARD, APPLE_FORWARD, THUNDERBIRD_FORWARD], ids=["gmail", "apple", "tb"]
)
def test_forward_is_kept_with_keep_forwarded(text: str) -> None:
    """With keep_forwarded (a resident) the forwarded mail stays after the writer's note."""
    got = strip_reply(text, keep_forwarded=True)
    assert got.startswith("Miren lo que me llegó.\n\n")
    assert got.endswith("Mañana se cortará el agua de 9:00 a 13:00.")
    assert "Municipalidad <avisos@muni.example>" in got
    assert "-- \nAna" not in got


def test_forward_in_gmail_html_follows_keep_forwarded() -> None:
    """Gmail's forward inside div.gmail_quote is cut, or kept with keep_forwarded."""
    html = (
        '<div dir="ltr">Miren lo que me llegó.<br><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>'
        "De: <b>Municipalidad</b> &lt;avisos@muni.example&gt;<br>Subject: Corte de agua<br></div>"
        "<br><div>Mañana se cortará el agua.</div></div></div>"
    )
    assert strip_reply("", html) == "Miren lo que me llegó."
    kept = strip_reply("", html, keep_forwarded=True)
    assert kept.startswith("Miren lo que me llegó.\n")
    assert kept.endswith("Mañana se cortará el agua.")


# --- HTML structure ---------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(
            '<div class="WordSection1"><p class="MsoNormal">Listo, cerrado.<o:p></o:p></p>'
            '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
            '<p class="MsoNormal"><b>De:</b> Ana Pérez &lt;ana@x.cl&gt;<br><b>Enviado el:</b> '
            "lunes, 23 de noviembre de 2026 10:15<br><b>Para:</b> Soporte<br><b>Asunto:</b> "
            'Fuga</p></div><p class="MsoNormal">Hola, hay una fuga.</p></div>',
            id="outlook-classic-border-top",
        ),
        pytest.param(
            '<div dir="ltr">Listo, cerrado.</div><div id="yahoo_quoted_1234" '
            'class="yahoo_quoted"><div>El lunes, 23 de noviembre de 2026, 10:15:00 -03, Ana '
            "&lt;ana@x.cl&gt; escribió:</div><div>Hola, hay una fuga.</div></div>",
            id="yahoo",
        ),
        pytest.param(
            "<p>Listo, cerrado.</p><div class='moz-cite-prefix'>Ana wrote:</div>"
            "<blockquote type='cite'>Hola, hay una fuga.</blockquote>",
            id="thunderbird-cite-prefix",
        ),
    ],
)
def test_html_quote_markup_is_cut(html: str) -> None:
    """Outlook's border-top block, Yahoo's and Thunderbird's quote markup start the quote."""
    assert strip_reply("", html) == "Listo, cerrado."


def test_outlook_border_top_block_is_found_in_sanitised_html() -> None:
    """The border-top block survives sanitising, so ParsedMail.html is cut there too."""
    from maildesk.inbound.parse import sanitise_html

    html = (
        '<p>Listo, cerrado.</p><div style="border:none;border-top:solid #E1E1E1 1.0pt">'
        "<p><b>From:</b> Ana<br><b>Sent:</b> Monday<br><b>To:</b> Soporte</p></div>"
        "<p>Hola, hay una fuga.</p>"
    )
    assert strip_reply("", sanitise_html(html)) == "Listo, cerrado."


def test_html_without_quote_is_kept_line_by_line() -> None:
    """An HTML mail with no quote gives its lines, one per <div>, and its empty lines."""
    html = "<div>#cerrar</div><div>Listo, María.</div><div><br></div><div>Pedro</div>"
    assert strip_reply("", html) == "#cerrar\nListo, María.\n\nPedro"


# --- the test mails are what the clients send ---------------------------------------


@pytest.mark.parametrize(
    ("client", "subject", "references", "plain_type"),
    [
        ("gmail", "Re: Fuga de agua en el depto 402", True, "text/plain"),
        ("outlook", "RE: Fuga de agua en el depto 402", False, "text/plain"),
        ("apple", "Re: Fuga de agua en el depto 402", True, "text/plain"),
        ("thunderbird", "Re: Fuga de agua en el depto 402", True, "text/plain"),
    ],
)
def test_client_headers_thread_the_reply(
    client: Client, subject: str, references: bool, plain_type: str
) -> None:
    """Each client's reply carries its subject prefix and threads on the original's Message-ID."""
    raw = reply(ORIGINAL, client=client, language="es", text=COMMANDS, **STAFF)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == subject
    assert message["In-Reply-To"] == "<orig-402@correo.example>"
    assert (message["References"] == "<orig-402@correo.example>") is references
    assert message["To"] == "María Ñúñez <vecina@correo.example>"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content_type() == plain_type
    flowed = plain.get_param("format") == "flowed"
    assert flowed is (client in ("apple", "thunderbird"))
    assert message.is_multipart() is (client != "thunderbird")
    if client == "outlook":
        assert message["Thread-Topic"] == "Fuga de agua en el depto 402"
        assert message["Thread-Index"]


def test_reply_goes_to_reply_to_and_keeps_attachments() -> None:
    """`to` defaults to the original's Reply-To, and attachments travel with the reply."""
    original = make_mail(headers={"Reply-To": "soporte+402-abc@alameda.example"})
    raw = reply(
        original,
        client="gmail",
        language="es",
        text="Adjunto la foto.",
        attachments=[("foto.jpg", "image/jpeg", b"\xff\xd8\xff\xe0")],
        **STAFF,
    )
    parsed = parse_mail(raw)
    assert parsed.to == ("soporte+402-abc@alameda.example",)
    assert [a.filename for a in parsed.attachments] == ["foto.jpg"]
    assert strip_reply(parsed.text, parsed.html) == "Adjunto la foto."


def test_a_footer_alone_at_the_top_does_not_raise() -> None:
    """A short reply whose first line is a soft-wrapped footer once raised IndexError."""
    text = "Sent from my iPhone \n--\nFrom: a\n________________________________\n\nSubject: d"
    assert strip_reply(text).startswith("Sent from my iPhone")


_FUZZ_LINES = (
    "",
    " ",
    ">",
    "> ",
    ">>",
    "-- ",
    "--",
    "\t",
    "hola",
    "gracias,",
    "Ana",
    "ok.",
    "El lun, 3 mar 2026 a las 10:00, Ana <ana@x.cl> escribió:",
    "On Mon, Mar 3, 2026 at 10:00 AM Ana <ana@x.cl> wrote:",
    "De: Ana",
    "Enviado: lunes",
    "Para: x",
    "Asunto: y",
    "From: a",
    "Sent: b",
    "To: c",
    "Subject: d",
    "Date: e",
    "-----Original Message-----",
    "---------- Forwarded message ---------",
    "Enviado desde mi iPhone",
    "Sent from my iPhone ",
    "Get Outlook for Android",
    "________________________________",
    "* * *",
)
_FUZZ_TAGS = (
    "<div>",
    "</div>",
    "<blockquote>",
    "</blockquote>",
    "<br>",
    "<p>",
    "</p>",
    "<hr>",
    '<div id="divRplyFwdMsg">',
    '<div class="gmail_quote">',
    "<b>De:</b>",
    "<b>From:</b>",
    '<div style="border-top:solid #E1E1E1 1.0pt">',
)


def test_random_replies_never_raise() -> None:
    """Seeded random mixes of headers, quotes, footers and markup: the stripper never raises."""
    rng = random.Random(15)
    for _ in range(800):
        text = "\n".join(rng.choice(_FUZZ_LINES) for _ in range(rng.randint(0, 8)))
        html = "".join(rng.choice(_FUZZ_TAGS + _FUZZ_LINES) for _ in range(rng.randint(0, 10)))
        for keep in (False, True):
            assert isinstance(strip_reply(text, html, keep_forwarded=keep), str)
            assert isinstance(strip_reply("", html, keep_forwarded=keep), str)
        assert isinstance(strip_named_signature(text, ["Ana"]), str)
