"""The MIME oddities `parse.py` must not drop: winmail.dat, pasted uuencode, bounces.

Each helper is pure and small: it takes bytes, text or an already parsed
`email.message.Message` and returns plain values. Failures are either raised as
`ValueError` (the caller keeps the original bytes and records a defect) or
returned as defect strings; nothing here logs or touches the disk.
"""

from __future__ import annotations

import binascii
import email.parser
import mimetypes
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from tnefparse import TNEF

# Built-in table only: `mimetypes.guess_*` would read /etc/mime.types, so names
# generated for the same mail would differ between machines.
_MIME = mimetypes.MimeTypes()
_EXTRA_EXTENSIONS = {
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/global": ".eml",
    "message/rfc822-headers": ".txt",
    "text/calendar": ".ics",
    "text/rfc822-headers": ".txt",
}
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_MAX_DEPTH = 30


@dataclass(frozen=True, slots=True)
class Extracted:
    """A file found inside another part; the name is still the sender's, unsanitised."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class TnefContents:
    """What a winmail.dat held that maildesk can use."""

    files: tuple[Extracted, ...]
    text: str
    html: str
    rtf_only: bool


def guess_type(filename: str) -> str:
    """A content type from a file name, for files whose container named no type."""
    return _MIME.guess_type(filename, strict=False)[0] or "application/octet-stream"


def extension_for(content_type: str) -> str:
    """The extension for a generated file name, so staff can open the file."""
    return (
        _EXTRA_EXTENSIONS.get(content_type)
        or _MIME.guess_extension(content_type, strict=False)
        or (".txt" if content_type.startswith("text/") else ".bin")
    )


# --- Outlook winmail.dat (TNEF) ---------------------------------------------


def is_tnef(content_type: str, filename: str) -> bool:
    """Outlook sends TNEF under either type, or as octet-stream named winmail.dat."""
    return content_type in _TNEF_TYPES or filename.strip().lower() == "winmail.dat"


def unpack_tnef(data: bytes) -> TnefContents:
    """Unpack winmail.dat with tnefparse; raise ValueError when it cannot be read."""
    _check_tnef_stream(data, depth=0)
    try:
        tnef = TNEF(data, do_checksum=False)
        files: list[Extracted] = []
        for attachment in tnef.attachments:
            name = _tnef_name(attachment)
            files.append(Extracted(name, guess_type(name), bytes(attachment.data or b"")))
        codepage = tnef.codepage or "cp1252"
        text = _tnef_text(tnef.body, codepage)
        html = _tnef_text(tnef.htmlbody, codepage)
        rtf_only = bool(tnef.has_body()) and not (text or html)
    except Exception as exc:  # tnefparse raises struct.error, TypeError, ... on bad input
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    return TnefContents(tuple(files), text, html, rtf_only)


def _check_tnef_stream(data: bytes, depth: int) -> None:
    """Refuse streams whose property counts exceed their data.

    tnefparse loops once per announced MAPI property even past the end of the data,
    so a corrupt count of four billion would hang the parse. Embedded messages
    (attachments that are themselves TNEF) are checked the same way.
    """
    if len(data) < 6 or struct.unpack_from("<I", data)[0] != TNEF.TNEF_SIGNATURE:
        raise ValueError("not a TNEF stream (wrong signature)")
    counted = {TNEF.ATTMAPIPROPS, TNEF.ATTATTACHMENT, TNEF.ATTRECIPTABLE}
    offset = 6
    while offset + TNEF.MIN_OBJ_SIZE < len(data):
        name, length = struct.unpack_from("<H", data, offset + 1)[0], _u32(data, offset + 5)
        body = data[offset + 9 : offset + 9 + length]
        if name in counted and len(body) >= 4 and _u32(body, 0) > len(body) // 4:
            raise ValueError(f"TNEF object {name:#06x} announces more properties than it holds")
        offset += min(len(data) - offset, length + 11)
    if depth >= 5:
        return
    signature = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
    start = data.find(signature)
    while start != -1:
        embedded = data[start + len(signature) :]
        if embedded[:4] == struct.pack("<I", TNEF.TNEF_SIGNATURE):
            _check_tnef_stream(embedded, depth + 1)
        start = data.find(signature, start + 1)


def _u32(data: bytes, offset: int) -> int:
    value: int = struct.unpack_from("<I", data, offset)[0]
    return value


def _tnef_name(attachment: object) -> str:
    """The attachment's long name; tnefparse may hand back bytes in any codepage."""
    try:
        name: object = attachment.long_filename()  # type: ignore[attr-defined]
    except Exception:  # a cp1252 short name makes tnefparse's own .decode() fail
        name = getattr(attachment, "_name", b"")
    if isinstance(name, bytes):
        name = _bytes_to_text(name)
    return str(name or "").strip("\x00").strip()


def _tnef_text(value: object, codepage: str) -> str:
    if not value:
        return ""
    if isinstance(value, bytes):
        try:
            return value.decode(codepage).rstrip("\x00")
        except (LookupError, UnicodeDecodeError):
            return _bytes_to_text(value).rstrip("\x00")
    return str(value).rstrip("\x00")


def _bytes_to_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


# --- uuencode pasted into a body (and x-uuencode parts) ----------------------

_UU_BEGIN = re.compile(r"begin [0-7]{3,4} (\S.*?)\s*")


def extract_uuencoded(text: str) -> tuple[str, tuple[Extracted, ...], tuple[str, ...]]:
    """Split `begin 644 name ... end` blocks out of a text as files.

    Old clients (and some scanners) still paste files this way; mail-parser leaves
    them in the body (mail-parser#80). A block that does not decode stays in the
    text and is reported.
    """
    if "begin " not in text:
        return text, (), ()
    lines = text.split("\n")
    kept: list[str] = []
    files: list[Extracted] = []
    defects: list[str] = []
    i = 0
    while i < len(lines):
        match = _UU_BEGIN.fullmatch(lines[i].rstrip("\r"))
        if match:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "end"), None)
            name = match.group(1)
            if end is None:
                defects.append(f"uuencoded file {name!r} has no 'end' line; kept as text")
            else:
                try:
                    data = _uudecode(lines[i + 1 : end])
                except (binascii.Error, ValueError) as exc:
                    defects.append(f"uuencoded file {name!r} does not decode ({exc}); kept as text")
                else:
                    files.append(Extracted(name, guess_type(name), data))
                    i = end + 1
                    continue
        kept.append(lines[i])
        i += 1
    return "\n".join(kept), tuple(files), tuple(defects)


def _uudecode(lines: list[str]) -> bytes:
    out = bytearray()
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            continue
        raw = line.encode("ascii")  # UnicodeEncodeError is a ValueError
        try:
            out += binascii.a2b_uu(raw)
        except binascii.Error:
            # Some encoders pad lines with garbage; trust the length byte (as `uu` did).
            size = (((raw[0] - 32) & 63) * 4 + 5) // 3
            out += binascii.a2b_uu(raw[:size])
    return bytes(out)


# --- bounces -----------------------------------------------------------------

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_BOUNCE_SUBJECTS = (
    "undeliverable",
    "undelivered mail",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "failure notice",
    "returned mail",
    "mail delivery failed",
    "mail delivery system",
    "no se puede entregar",
    "no se pudo entregar",
    "non remis",
    "unzustellbar",
)
_ORIGINAL_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/rfc822-headers"})
_TEXT_MESSAGE_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def bounced_message_ids(message: Message, sender: str, subject: str, text: str) -> tuple[str, ...]:
    """Raw Message-ID values of the mail(s) a bounce reports as undelivered.

    A standard DSN is a multipart/report with the original attached. Many MTAs
    send something else, so a mail that looks like a bounce (daemon sender,
    X-Failed-Recipients, a bounce subject) is searched for an attached original
    or its headers, and last for a `Message-ID:` line in its text (qmail).
    A read receipt (report-type disposition-notification) is not a bounce.
    """
    reports = [
        part
        for part in _parts(message)
        if part.get_content_type() == "multipart/report"
        and str(part.get_param("report-type", "delivery-status")).lower() == "delivery-status"
    ]
    found: list[str] = []
    for report in reports:
        found += _original_ids(report)
    if not reports and _looks_like_bounce(message, sender, subject):
        found += _original_ids(message)
        if not found:
            found += [m.group(1) for m in _TEXT_MESSAGE_ID.finditer(text)]
    return tuple(dict.fromkeys(found))


def _looks_like_bounce(message: Message, sender: str, subject: str) -> bool:
    local = sender.partition("@")[0].lower()
    if local in _BOUNCE_SENDERS or local.startswith("microsoftexchange"):
        return True
    if message.get("x-failed-recipients") is not None:
        return True
    lowered = subject.lower()
    return any(marker in lowered for marker in _BOUNCE_SUBJECTS)


def _parts(message: Message, depth: int = 0) -> Iterator[Message]:
    """Every part, descending through multiparts but never into attached messages."""
    yield message
    payload = message.get_payload()
    if depth < _MAX_DEPTH and message.get_content_maintype() == "multipart":
        if isinstance(payload, list):
            for child in payload:
                if isinstance(child, Message):
                    yield from _parts(child, depth + 1)


def _original_ids(container: Message) -> list[str]:
    ids: list[str] = []
    for part in _parts(container):
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                ids += [str(v) for v in payload[0].get_all("message-id", [])]
            else:
                ids += _ids_in_header_block(part)
        elif ctype in _ORIGINAL_HEADER_TYPES:
            ids += _ids_in_header_block(part)
    return ids


def _ids_in_header_block(part: Message) -> list[str]:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return []
    headers = email.parser.BytesHeaderParser().parsebytes(data.lstrip())
    return [str(v) for v in headers.get_all("message-id", [])]
