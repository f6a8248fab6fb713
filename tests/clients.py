"""Build replies the way real mail clients build them, as RFC 5322 bytes.

`reply(original, client=..., language=...)` answers a mail the way Gmail, Outlook
(on the web / new Outlook), Apple Mail and Thunderbird do: each client's subject
prefix, threading headers, quote header in the client's language, quoting style
(`> ` lines, or Outlook's unprefixed "De:/Enviado:/Para:/Asunto:" block), HTML
markup (`div.gmail_quote`, `div#divRplyFwdMsg` after `<hr>`, `blockquote
type="cite"`, `div.moz-cite-prefix`), signature and mobile footer. The new text
always comes first (top-posting).

What each client does with a signature, as the real ones do:

- Gmail and Thunderbird put the RFC 3676 delimiter "-- " before it;
- Apple Mail and Outlook append it with no delimiter (Outlook in `div#Signature`).

`mobile=True` adds the footer of the client's phone app: Apple's iOS Mail
("Enviado desde mi iPhone"), Outlook for iOS ("Obtener Outlook para iOS"),
Thunderbird for Android (K-9 Mail's footer). The Gmail apps add no footer, so for
Gmail `mobile` changes nothing.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import html as htmllib
import re
import textwrap
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from typing import Literal

from maildesk.mime.html import html_to_text, sanitise_html

Client = Literal["gmail", "outlook", "apple", "thunderbird"]
Language = Literal["es", "en"]

_DAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_DAYS_ES_SHORT = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
_MONTHS_ES = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
_MONTHS_ES_SHORT = [
    "ene",
    "feb",
    "mar",
    "abr",
    "may",
    "jun",
    "jul",
    "ago",
    "sept",
    "oct",
    "nov",
    "dic",
]
_DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|rv|sv|antw)\s*:\s*", re.IGNORECASE)

_FOOTERS: dict[tuple[str, str], tuple[str, str]] = {
    # (client, language) -> (plain line, HTML)
    ("apple", "es"): ("Enviado desde mi iPhone", "Enviado desde mi iPhone"),
    ("apple", "en"): ("Sent from my iPhone", "Sent from my iPhone"),
    ("outlook", "es"): (
        "Obtener Outlook para iOS<https://aka.ms/o0ukef>",
        'Obtener <a href="https://aka.ms/o0ukef">Outlook para iOS</a>',
    ),
    ("outlook", "en"): (
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        'Get <a href="https://aka.ms/o0ukef">Outlook for iOS</a>',
    ),
    ("thunderbird", "es"): (
        "Enviado desde mi dispositivo Android con K-9 Mail. Por favor, disculpa mi brevedad.",
        "Enviado desde mi dispositivo Android con K-9 Mail. Por favor, disculpa mi brevedad.",
    ),
    ("thunderbird", "en"): (
        "Sent from my Android device with K-9 Mail. Please excuse my brevity.",
        "Sent from my Android device with K-9 Mail. Please excuse my brevity.",
    ),
}

_BLOCKQUOTE_GMAIL = (
    'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"'
)
_OUTLOOK_FONT = (
    'style="font-family: Aptos, Aptos_EmbeddedFont, Aptos_MSFontService, Calibri, Helvetica, '
    'sans-serif; font-size: 12pt; color: rgb(0, 0, 0);"'
)


@dataclass(frozen=True)
class _Original:
    """What a client reads from the mail it answers."""

    name: str
    address: str
    reply_to: str
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    subject: str
    date: datetime
    message_id: str
    references: tuple[str, ...]
    thread_index: str
    text: str
    html_body: str


def reply(
    original: bytes | EmailMessage,
    *,
    client: Client,
    language: Language,
    sender: str,
    sender_name: str,
    text: str,
    to: str | None = None,
    signature: str | None = None,
    mobile: bool = False,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    html: bool | None = None,
) -> bytes:
    """A reply to `original` as `client` sends it; `html` overrides whether it has an HTML part.

    Gmail, Outlook and Apple Mail send text and HTML; Thunderbird sends plain text
    (format=flowed) unless `html=True` (its HTML composition).
    """
    orig = _read(original)
    with_html = html if html is not None else client != "thunderbird"
    builder = _BUILDERS[client]
    plain, markup = builder(orig, language, text, signature, mobile)
    msg = EmailMessage(policy=SMTP)
    local, _, domain = sender.partition("@")
    when = orig.date + timedelta(hours=1, minutes=5)
    seed = f"{client}|{orig.message_id}|{sender}|{text}|{signature}|{mobile}"
    message_id = _message_id(client, domain, seed)
    msg["From"] = Address(sender_name, local, domain)
    msg["To"] = to if to is not None else orig.reply_to
    msg["Subject"] = _subject(client, orig.subject)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = orig.message_id
    if client != "outlook":  # Outlook often sends In-Reply-To alone
        msg["References"] = " ".join((*orig.references, orig.message_id))
    extra = _client_headers(client, language, orig, seed, mobile)
    for name, value in extra:
        if not name.lower().startswith("content-"):
            msg[name] = value
    flowed = client in ("apple", "thunderbird")
    if client == "outlook":
        charset = "iso-8859-1" if _encodable(plain + markup, "iso-8859-1") else "utf-8"
    else:
        charset = "utf-8"
    cte = "8bit" if client == "thunderbird" else "quoted-printable"
    if flowed:
        msg.set_content(
            _flowed(plain), subtype="plain", charset=charset, cte=cte, params={"format": "flowed"}
        )
    else:
        msg.set_content(plain + "\n", subtype="plain", charset=charset, cte=cte)
    if with_html:
        markup = markup.replace("charset=utf-8", f"charset={charset}")
        msg.add_alternative(markup, subtype="html", charset=charset, cte=cte)
    for name, value in extra:
        if name.lower().startswith("content-"):  # set_content drops Content-* headers
            msg[name] = value
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


# --- reading the original ----------------------------------------------------


def _read(original: bytes | EmailMessage) -> _Original:
    if isinstance(original, EmailMessage):
        msg = original
    else:
        parsed = email.message_from_bytes(bytes(original), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        msg = parsed
    senders = getaddresses([str(msg.get("From", ""))])
    name, address = senders[0] if senders else ("", "")
    reply_to = str(msg.get("Reply-To", "")) or str(msg.get("From", ""))
    date_header = msg.get("Date")
    date = parsedate_to_datetime(str(date_header)) if date_header else datetime.now(UTC)
    refs = str(msg.get("References", "")).split()
    if not refs and msg.get("In-Reply-To"):
        refs = str(msg["In-Reply-To"]).split()[:1]
    text, html_body = _bodies(msg)
    return _Original(
        name=name,
        address=address,
        reply_to=reply_to,
        to=tuple(getaddresses([str(v) for v in msg.get_all("To", [])])),
        cc=tuple(getaddresses([str(v) for v in msg.get_all("Cc", [])])),
        subject=str(msg.get("Subject", "")),
        date=date,
        message_id=str(msg.get("Message-ID", "")).strip(),
        references=tuple(refs),
        thread_index=str(msg.get("Thread-Index", "")).strip(),
        text=text,
        html_body=html_body,
    )


def _bodies(msg: EmailMessage) -> tuple[str, str]:
    plain_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    text = str(plain_part.get_content()) if isinstance(plain_part, EmailMessage) else ""
    markup = str(html_part.get_content()) if isinstance(html_part, EmailMessage) else ""
    text = text.replace("\r\n", "\n").strip("\n")
    if markup:
        body = re.search(r"<body[^>]*>(.*)</body>", markup, re.DOTALL | re.IGNORECASE)
        markup = body.group(1) if body else markup
    elif text:
        markup = "".join(f"<div>{_esc(line) or '<br>'}</div>" for line in text.split("\n"))
    if not text and markup:
        text = html_to_text(sanitise_html(markup))
    return text, markup


# --- per client --------------------------------------------------------------

Built = tuple[str, str]


def _gmail(o: _Original, lang: str, text: str, signature: str | None, mobile: bool) -> Built:
    when = o.date
    hour = when.strftime("%H:%M")
    if lang == "es":
        who = f"{o.name} (<{o.address}>)" if o.name else f"<{o.address}>"
        day = _DAYS_ES_SHORT[when.weekday()]
        date = f"{day}, {when.day} {_MONTHS_ES_SHORT[when.month - 1]} {when.year}"
        attribution = f"El {date} a las {hour}, {who} escribió:"
    else:
        who = f"{o.name} <{o.address}>" if o.name else f"<{o.address}>"
        date = f"{when:%a}, {when:%b} {when.day}, {when.year} at {_clock12(when)}"
        attribution = f"On {date} {who} wrote:"
    # Gmail hard-wraps the attribution of its plain part; it often ends up on two lines.
    wrapped = "\n".join(
        textwrap.wrap(attribution, 78, break_long_words=False, break_on_hyphens=False)
    )
    plain = [text]
    if signature:
        plain.append(f"-- \n{signature}")
    plain.append(f"{wrapped}\n\n{_quote(o.text)}")
    lines = "".join(_div(line) for line in text.split("\n")) if text else ""
    sig = ""
    if signature:
        sig_lines = "".join(f"<div>{_esc(line)}</div>" for line in signature.split("\n"))
        sig = (
            '<br clear="all"><div><br></div><span class="gmail_signature_prefix">-- </span><br>'
            '<div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature">'
            f'<div dir="ltr">{sig_lines}</div></div>'
        )
    markup = (
        f'<div dir="ltr">{lines}{sig}</div><br>'
        '<div class="gmail_quote gmail_quote_container">'
        f'<div dir="ltr" class="gmail_attr">{_linked(attribution, o.address)}<br></div>'
        f'<blockquote class="gmail_quote" {_BLOCKQUOTE_GMAIL}>{o.html_body}</blockquote></div>'
    )
    return _join(plain), markup


def _outlook(o: _Original, lang: str, text: str, signature: str | None, mobile: bool) -> Built:
    when = o.date
    if lang == "es":
        sent = (
            f"{_DAYS_ES[when.weekday()]}, {when.day} de {_MONTHS_ES[when.month - 1]} "
            f"de {when.year} {when:%H:%M}"
        )
        labels = ("De", "Enviado", "Para", "CC", "Asunto")
    else:
        sent = (
            f"{_DAYS_EN[when.weekday()]}, {_MONTHS_EN[when.month - 1]} {when.day}, "
            f"{when.year} {_clock12(when)}"
        )
        labels = ("From", "Sent", "To", "Cc", "Subject")
    sender = f"{o.name} <{o.address}>" if o.name else o.address
    fields = [(labels[0], sender), (labels[1], sent), (labels[2], _outlook_list(o.to))]
    if o.cc:
        fields.append((labels[3], _outlook_list(o.cc)))
    fields.append((labels[4], o.subject))
    head = "\n".join(f"{label}: {value}" for label, value in fields)
    footer = _FOOTERS[("outlook", lang)] if mobile else None
    plain = [text]
    if signature:
        plain.append(signature)
    block = "_" * 32 + f"\n{head}\n\n{o.text}"
    if footer:
        plain.append(f"{footer[0]}\n{block}")
    else:
        plain.append(block)
    new = "".join(
        f'<div class="elementToProof" {_OUTLOOK_FONT}>{_esc(line) or "<br>"}</div>'
        for line in text.split("\n")
    )
    if signature:
        sig_lines = "".join(f"<div>{_esc(line) or '<br>'}</div>" for line in signature.split("\n"))
        new += f'<div class="elementToProof"><br></div><div id="Signature">{sig_lines}</div>'
    if footer:
        new += f'<div class="elementToProof"><br></div><div dir="ltr">{footer[1]}</div>'
    html_head = "<br>\n".join(f"<b>{label}:</b> {_esc(value)}" for label, value in fields)
    markup = (
        "<html><head>\n"
        f'<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} '
        "</style>\n</head>\n"
        f'<body dir="ltr">\n{new}\n<div id="appendonsend"></div>\n'
        '<hr style="display:inline-block;width:98%" tabindex="-1">\n'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
        f'style="font-size:11pt" color="#000000">{html_head}</font>\n<div>&nbsp;</div>\n</div>\n'
        f'<div class="BodyFragment"><font size="2"><span style="font-size:11pt;">\n'
        f'<div class="PlainText">{o.html_body}</div>\n</span></font></div>\n</body>\n</html>\n'
    )
    return _join(plain), markup


def _apple(o: _Original, lang: str, text: str, signature: str | None, mobile: bool) -> Built:
    when = o.date
    who = f"{o.name} <{o.address}>" if o.name else o.address
    if lang == "es":
        date = f"{when.day} {_MONTHS_ES_SHORT[when.month - 1]} {when.year}"
        attribution = f"El {date}, a las {when:%H:%M}, {who} escribió:"
    else:
        date = f"{when:%b} {when.day}, {when.year}"
        attribution = f"On {date}, at {_clock12(when)}, {who} wrote:"
    footer = _FOOTERS[("apple", lang)] if mobile else None
    plain = [text]
    if signature:
        plain.append(signature)
    if footer:
        plain.append(footer[0])
    # Apple Mail quotes its own attribution line along with the original.
    plain.append(_quote(f"{attribution}\n\n{o.text}"))
    first, *rest = text.split("\n") if text else [""]
    new = _esc(first) + "".join(_div(line) for line in rest)
    if signature:
        new += "<div><br></div>" + "".join(_div(line) for line in signature.split("\n"))
    if footer:
        new += (
            f'<div><br id="lineBreakAtBeginningOfSignature"><div dir="ltr">{footer[1]}</div></div>'
        )
    markup = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        '<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; '
        'line-break: after-white-space;">'
        f'{new}<div><br><blockquote type="cite"><div>{_esc(attribution)}</div>'
        f'<br class="Apple-interchange-newline"><div><div>{o.html_body}</div></div>'
        "</blockquote></div><br></body></html>"
    )
    return _join(plain), markup


def _thunderbird(o: _Original, lang: str, text: str, signature: str | None, mobile: bool) -> Built:
    when = o.date
    who = o.name or o.address
    if lang == "es":
        attribution = f"El {when:%d/%m/%y} a las {when:%H:%M}, {who} escribió:"
    else:
        attribution = f"On {when.month}/{when.day}/{when:%y} {_clock12(when)}, {who} wrote:"
    footer = _FOOTERS[("thunderbird", lang)] if mobile else None
    plain = [text]
    if footer:
        plain.append(footer[0])
    if signature:
        plain.append(f"-- \n{signature}")
    plain.append(f"{attribution}\n{_quote(o.text)}")
    new = "<br>\n".join(_esc(line) for line in text.split("\n"))
    parts = [f"<p>{new}</p>\n"]
    if footer:
        parts.append(f"<p>{_esc(footer[1])}</p>\n")
    if signature:
        sig = "<br>\n".join(_esc(line) for line in signature.split("\n"))
        parts.append(f'<div class="moz-signature">-- <br>\n{sig}</div>\n')
    cite = o.message_id.strip("<>")
    markup = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta http-equiv="content-type" content="text/html; charset=UTF-8">\n'
        "  </head>\n  <body>\n"
        + "".join(parts)
        + f'    <div class="moz-cite-prefix">{_esc(attribution)}<br>\n    </div>\n'
        f'    <blockquote type="cite" cite="mid:{_esc(cite)}">{o.html_body}</blockquote>\n'
        "  </body>\n</html>\n"
    )
    return _join(plain), markup


_BUILDERS = {
    "gmail": _gmail,
    "outlook": _outlook,
    "apple": _apple,
    "thunderbird": _thunderbird,
}


# --- headers -----------------------------------------------------------------


def _subject(client: str, subject: str) -> str:
    prefix = "RE: " if client == "outlook" else "Re: "
    if _REPLY_PREFIX.match(subject):
        return prefix + _REPLY_PREFIX.sub("", subject, count=1)
    return prefix + subject


def _client_headers(
    client: str, language: str, o: _Original, seed: str, mobile: bool
) -> list[tuple[str, str]]:
    digest = hashlib.sha256(seed.encode()).digest()
    if client == "outlook":
        region = "es-CL" if language == "es" else "en-US"
        index = base64.b64decode(o.thread_index) if o.thread_index else digest[:22]
        return [
            ("Thread-Topic", _REPLY_PREFIX.sub("", o.subject)),
            ("Thread-Index", base64.b64encode(index + digest[22:27]).decode()),
            ("Accept-Language", f"{region}, en-US"),
            ("Content-Language", region),
            ("X-MS-Has-Attach", ""),
            ("X-MS-TNEF-Correlator", ""),
            ("MIME-Version", "1.0"),
        ]
    if client == "apple":
        if mobile:
            return [("X-Mailer", "iPhone Mail (22B83)"), ("Mime-Version", "1.0 (1.0)")]
        return [
            ("X-Mailer", "Apple Mail (2.3826.300.87.4.3)"),
            ("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3826.300.87.4.3\\))"),
        ]
    if client == "thunderbird":
        agent = "K-9 Mail for Android" if mobile else "Mozilla Thunderbird"
        return [
            ("MIME-Version", "1.0"),
            ("User-Agent", agent),
            ("Content-Language", "es-ES" if language == "es" else "en-US"),
        ]
    return [("MIME-Version", "1.0")]


def _message_id(client: str, domain: str, seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    if client == "gmail":
        token = base64.b64encode(digest[:33], altchars=b"+_").decode()
        return f"<CA{token}@mail.gmail.com>"
    if client == "outlook":
        return f"<{digest[:20].hex().upper()}@SCYP152MB1234.LAMP152.PROD.OUTLOOK.COM>"
    name = str(uuid.UUID(bytes=digest[:16])).upper()
    if client == "thunderbird":
        name = name.lower()
    return f"<{name}@{domain}>"


# --- text helpers ------------------------------------------------------------


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _flowed(text: str) -> str:
    """RFC 3676 format=flowed: soft breaks end in a space; '-- ' stays as it is."""
    out: list[str] = []
    for line in text.split("\n"):
        if line == "-- ":
            out.append(line)
            continue
        depth = len(line) - len(line.lstrip(">"))
        prefix = ">" * depth
        body = line[depth:]
        if depth and body.startswith(" "):
            body = body[1:]
        body = body.rstrip(" ")
        if not depth and (body.startswith((" ", ">")) or body.startswith("From ")):
            body = " " + body  # space-stuffing
        lead = f"{prefix} " if depth and body else prefix
        pieces = textwrap.wrap(body, 76 - len(lead), break_long_words=False) if body else [""]
        pieces = pieces or [""]
        for n, piece in enumerate(pieces):
            soft = " " if n < len(pieces) - 1 else ""
            out.append(f"{lead}{piece}{soft}")
    return "\n".join(out) + "\n"


def _join(parts: list[str]) -> str:
    return "\n\n".join(part for part in parts if part)


def _esc(text: str) -> str:
    return htmllib.escape(text, quote=False)


def _linked(text: str, address: str) -> str:
    """Escaped text whose address is a mailto link, as Gmail writes it."""
    link = f'<a href="mailto:{_esc(address)}">{_esc(address)}</a>'
    return _esc(text).replace(_esc(address), link, 1) if address else _esc(text)


def _div(line: str) -> str:
    return f"<div>{_esc(line) or '<br>'}</div>"


def _clock12(when: datetime) -> str:
    hour = when.hour % 12 or 12
    return f"{hour}:{when:%M} {'AM' if when.hour < 12 else 'PM'}"


def _outlook_list(addresses: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{name or addr} <{addr}>" for name, addr in addresses)


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True
