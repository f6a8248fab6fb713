"""Turn the raw bytes of one inbound mail into a `ParsedMail`, and never raise.

mail-parser (`mailparser.MailParser`, over the tree `mime.tree` builds piece by piece, at
a third of the stdlib's whole-mail peak) reads the mail: the MIME tree we walk, the
addresses (display names decoded in context) and the date. Its history taught us not to
take the rest on trust, so this module, the only one that imports it:

- decodes every header itself: mail-parser drops octets it cannot decode without
  a word (a raw Latin-1 "Año" in a Subject came back as "Ao");
- decodes every body part from its raw bytes against the declared charset, and
  records a defect where mail-parser's text disagrees (mojibake as in
  mail-parser#152, a mislabelled charset, ISO-2022-JP left undecoded);
- takes attachments from the tree itself, so their bytes are exact (#80) and
  attached messages stay whole `.eml` files with stable generated names;
- sanitises HTML and derives missing plain text from it (`maildesk.mime.html`).

If mail-parser raises, the stdlib `email` parser reads the mail; if that fails
too, the headers are read line by line and the body kept as text. Whatever could
not be read is a string in `ParsedMail.defects`; "part N" counts parts depth
first, 1 being the message itself. The walk over the MIME tree, the byte-level
helpers (charsets, encoded words, file names) and the oddities (winmail.dat,
uuencode, bounces) live in `maildesk.mime`, one module each.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from typing import Any, BinaryIO

import mailparser
from mailparser.exceptions import MailParserRecursionError

from maildesk.domain import Attachment, ParsedMail
from maildesk.mime import bounces, filenames, parts, tree
from maildesk.mime.charsets import clean, cut, decode_words, header_text, octets_to_text
from maildesk.mime.html import html_to_text, sanitise_html, strip_tags
from maildesk.mime.limits import ParseLimits

# quotes.py reads HTML the way this module does, through these two names.
__all__ = ["parse_mail"]

_FOLD = re.compile(r"\r?\n[ \t]*|\r")
_ID_TOKEN = re.compile(r"<([^<>]*)>|\(([^()]*)\)|([^\s,<>()]+)")
_ADDR = re.compile(r"[^@\s<>()\[\],;:\"\x00-\x1f\x7f-\x9f]+@[^@\s<>()\[\],;:\"\x00-\x1f\x7f-\x9f]+")
_ADDRESS_HEADERS = (("from_", "from"), ("to", "to"), ("cc", "cc"), ("reply_to", "reply-to"))


def parse_mail(raw: bytes | BinaryIO, limits: ParseLimits | None = None) -> ParsedMail:
    """Read one mail within `limits`; never raise, so one strange mail cannot stop the queue.

    The mail is bytes, or a file (the reader child's), read a piece at a time so that the
    raw mail is never held beside its tree.
    """
    defects: list[str] = []
    try:
        parser = _mailparser(raw)
    except MemoryError:
        raise  # not the mail's fault to read another way: the reader's limit (reader_process)
    except Exception as exc:  # anything at all: read it another way
        defects.append(cut(f"mail-parser failed: {type(exc).__name__}: {exc}"))
    else:
        try:
            return _build(parser.message, parser, list(defects), limits)
        except MemoryError:
            raise
        except Exception as exc:  # a mail our reading of the tree did not foresee
            defects.append(cut(f"reading mail-parser's result failed: {type(exc).__name__}: {exc}"))
    try:
        message = tree.message_from_bytes(raw, policy=email.policy.default)
        return _build(message, None, list(defects), limits)
    except MemoryError:
        raise
    except Exception as exc:
        defects.append(cut(f"stdlib email parser failed: {type(exc).__name__}: {exc}"))
    return _last_resort(b"".join(tree.pieces(raw)), defects)


def _mailparser(raw: bytes | BinaryIO) -> Any:
    """mail-parser over our tree; a mail nested past Python's recursion limit is its error."""
    try:
        return mailparser.MailParser(tree.message_from_bytes(raw))
    except RecursionError as exc:
        raise MailParserRecursionError("message nesting too deep to parse") from exc


# --- assembling --------------------------------------------------------------


@dataclass
class _Fields:
    """Header-derived values, filled by the stdlib reading, then by mail-parser."""

    headers: dict[str, tuple[str, ...]]
    raw: dict[str, list[str]]
    subject: str = ""
    from_addr: str = ""
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    date: datetime | None = None


def _build(
    message: Message, parser: Any, defects: list[str], limits: ParseLimits | None
) -> ParsedMail:
    fields = _read_headers([(str(n), str(v)) for n, v in message.raw_items()], defects)
    if parser is not None:
        _take_from_mailparser(fields, parser, defects)
    fields.date = _read_date(fields.raw.get("date", []), parser, defects)
    _check_sender(fields, defects)
    walk = parts.read_parts(message, defects, limits)
    if parser is not None:
        _compare_bodies(walk, parser)
    text, html = _bodies(walk)
    from_html = not any(t.strip() for t in walk.plain) and bool(html)
    try:
        bounced = bounces.bounced_message_ids(message, fields.from_addr, fields.subject, text)
    except Exception as exc:  # a bounce we cannot read is still a mail we can
        defects.append(cut(f"bounce report unreadable ({exc!r})"))
        bounced = ()
    return _result(
        fields, defects, text, html, _attachments(walk.files, defects), bounced, from_html
    )


def _result(
    fields: _Fields,
    defects: list[str],
    text: str = "",
    html: str = "",
    attachments: tuple[Attachment, ...] = (),
    bounced: Iterable[str] = (),
    text_from_html: bool = False,
) -> ParsedMail:
    message_ids = fields.raw.get("message-id", [])
    message_id = next(iter(_id_list(message_ids[:1])), None)
    if message_ids and message_id is None:
        defects.append(cut(f"Message-ID unreadable: {message_ids[0]!r}"))
    own = {message_id}
    return ParsedMail(
        message_id=message_id,
        subject=fields.subject,
        from_addr=fields.from_addr,
        from_name=fields.from_name,
        to=fields.to,
        cc=fields.cc,
        reply_to=fields.reply_to,
        in_reply_to=_id_list(fields.raw.get("in-reply-to", [])),
        references=_id_list(fields.raw.get("references", [])),
        date=fields.date,
        text=text,
        html=html,
        attachments=attachments,
        headers=fields.headers,
        defects=tuple(dict.fromkeys(clean(cut(d)) for d in defects)),
        bounced_message_ids=tuple(i for i in _id_list(bounced) if i not in own),
        text_from_html=text_from_html,
    )


def _last_resort(raw: bytes, defects: list[str]) -> ParsedMail:
    """Both parsers failed: read header lines by hand, keep the body as text."""
    try:
        head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        pairs: list[tuple[str, str]] = []
        for line in head.decode("ascii", "surrogateescape").split("\n"):
            if line[:1] in (" ", "\t") and pairs:
                pairs[-1] = (pairs[-1][0], pairs[-1][1] + "\n" + line)
            elif ":" in line:
                name, _, value = line.partition(":")
                pairs.append((name, value.strip()))
            elif line:
                defects.append(cut(f"unreadable header line: {line!r}"))
        fields = _read_headers(pairs, defects)
        fields.date = _read_date(fields.raw.get("date", []), None, defects)
        _check_sender(fields, defects)
        defects.append("body kept as undecoded text")
        return _result(fields, defects, text=clean(body.decode("utf-8", "replace")))
    except Exception as exc:
        defects.append(cut(f"header reading failed: {type(exc).__name__}: {exc}"))
        return ParsedMail(
            message_id=None,
            subject="",
            from_addr="",
            text=clean(raw.decode("utf-8", "replace")),
            defects=tuple(dict.fromkeys(defects)),
        )


# --- headers -----------------------------------------------------------------


def _read_headers(pairs: list[tuple[str, str]], defects: list[str]) -> _Fields:
    """Decode every header (8-bit octets, then RFC 2047) and read the stdlib way."""
    decoded: dict[str, list[str]] = {}
    raw: dict[str, list[str]] = {}
    for name, value in pairs:
        key = clean(octets_to_text(name, defects, "header name")).strip().lower()
        text = octets_to_text(value, defects, f"header {key}")
        unfolded = header_text(_FOLD.sub(" ", text)).strip()
        raw.setdefault(key, []).append(unfolded)
        decoded.setdefault(key, []).append(decode_words(unfolded, defects, f"header {key}"))
    fields = _Fields({k: tuple(v) for k, v in decoded.items()}, raw)
    fields.subject = decoded.get("subject", [""])[0]
    senders = _addresses(raw.get("from", []), defects)
    if senders:
        fields.from_name, fields.from_addr = senders[0]
    fields.to, fields.cc, fields.reply_to = (
        tuple(dict.fromkeys(a for _, a in _addresses(raw.get(k, []), defects)))
        for k in ("to", "cc", "reply-to")
    )
    return fields


def _check_sender(fields: _Fields, defects: list[str]) -> None:
    if fields.from_addr:
        return
    if "from" in fields.raw:
        defects.append(cut(f"From header unreadable: {fields.raw['from'][0]!r}"))
    else:
        defects.append("no From header")


def _take_from_mailparser(fields: _Fields, parser: Any, defects: list[str]) -> None:
    """Prefer mail-parser's addresses and date; keep ours where it has none."""
    for entry in parser.defects:
        for category in ("address-headers", "mime-headers"):
            defects.extend(f"mail-parser: {d}" for d in entry.get(category, []))
    for attr, key in _ADDRESS_HEADERS:
        values = fields.raw.get(key, [])
        if values:
            _take_addresses(fields, key, values, getattr(parser, attr) or [], defects)


def _take_addresses(
    fields: _Fields, key: str, values: list[str], read: list[Any], defects: list[str]
) -> None:
    """One address header: mail-parser's reading of the first value, then our later ones."""
    ours = _addresses(values, defects)
    theirs = _their_addresses(read, ours, defects)
    if not theirs:
        if ours:
            defects.append(f"mail-parser read no address in {key}; the stdlib's reading is kept")
        return
    # mail-parser reads only the first occurrence of a header; add the others.
    later = _addresses(values[1:], defects)
    if key == "from":
        fields.from_name, fields.from_addr = theirs[0]
    else:
        merged = tuple(dict.fromkeys(a for _, a in theirs + later))
        setattr(fields, key.replace("-", "_"), merged)


def _their_addresses(
    read: list[Any], ours: list[tuple[str, str]], defects: list[str]
) -> list[tuple[str, str]]:
    """mail-parser's (name, address) pairs; a name it left raw 8-bit is taken from ours.

    It leaves some encoded words undecoded (those holding CR/LF among them): they are
    decoded here, and every name loses its control characters like any header.
    """
    names = {a: n for n, a in reversed(ours)}
    return [
        (
            decode_words(names.get(a.lower(), n) if "\\udc" in n else n, defects, "address name"),
            a.lower(),
        )
        for n, a in read
        if _ADDR.fullmatch(a)
    ]


def _addresses(values: list[str], defects: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, addr in email.utils.getaddresses(values):
        if _ADDR.fullmatch(addr):
            pairs.append((decode_words(name, defects, "address name"), addr.lower()))
    return pairs


def _read_date(values: list[str], parser: Any, defects: list[str]) -> datetime | None:
    """mail-parser's UTC instant, shown in the sender's own offset when we can."""
    if not values:
        return None
    try:
        local: datetime | None = email.utils.parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError, OverflowError):
        local = None
    if local is not None and local.tzinfo is None:
        local = local.replace(tzinfo=UTC)  # "-0000": an unknown zone
    parsed: datetime | None = parser.date if parser is not None else None
    if parsed is not None:
        return local if local == parsed else parsed
    if local is None:
        defects.append(cut(f"Date header unreadable: {values[0]!r}"))
    elif parser is not None:
        defects.append(cut(f"Date header is not RFC 5322; read leniently: {values[0]!r}"))
    return local


def _id_list(values: Iterable[str]) -> tuple[str, ...]:
    """Message ids as `<...>`: brackets may be missing, separators commas or spaces."""
    found: list[str] = []
    for value in values:
        for bracketed, comment, bare in _ID_TOKEN.findall(header_text(value)):
            if comment:
                continue
            ident = "".join(bracketed.split()) if bracketed else bare
            if ident and (bracketed or "@" in ident):
                found.append(f"<{ident}>")
    return tuple(dict.fromkeys(found))


# --- bodies and files --------------------------------------------------------


def _compare_bodies(walk: parts.Parts, parser: Any) -> None:
    """Record where mail-parser's text is not the declared decode (mojibake, #152)."""
    theirs = {_norm(t) for t in parser.text_plain + parser.text_html + parser.text_not_managed}
    for index, ctype, text in walk.decoded:
        if text.strip() and _norm(text) not in theirs:
            walk.defects.append(
                f"part {index} ({ctype}): mail-parser's text differs from the decode "
                "of the raw bytes; used the latter"
            )


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _bodies(walk: parts.Parts) -> tuple[str, str]:
    plain = [t.strip("\n") for t in walk.plain if t.strip()]
    html_parts = [t for t in walk.html if t.strip()]
    if not plain and not html_parts:
        plain = [walk.tnef_text.strip()] if walk.tnef_text.strip() else []
        html_parts = [walk.tnef_html] if walk.tnef_html.strip() else []
    html = sanitise_html("\n".join(html_parts)).strip() if html_parts else ""
    if plain:
        return "\n\n".join(plain), html
    if not html:
        return "", ""
    try:
        return html_to_text(html), html
    except Exception as exc:  # html2text on markup it never met
        walk.defects.append(cut(f"html2text failed ({exc}); text is the HTML without tags"))
        return strip_tags(html), html


def _attachments(files: list[parts.PartFile], defects: list[str]) -> tuple[Attachment, ...]:
    result: list[Attachment] = []
    for number, found in enumerate(files, 1):
        ctype = found.content_type
        if ctype == "application/octet-stream" and found.name:
            ctype = filenames.guess_type(found.name)
        fallback = f"attachment-{number}{filenames.extension_for(ctype)}"
        name = filenames.safe_filename(found.name, fallback)
        if found.name and name != unicodedata.normalize("NFC", found.name):
            defects.append(cut(f"attachment {number}: file name {found.name!r} saved as {name!r}"))
        result.append(Attachment(name, ctype, found.data, found.inline, found.content_id))
    return tuple(result)
