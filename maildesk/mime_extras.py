"""Reading what senders get wrong, one pure helper each, for `parse.py`.

Charsets that lie, RFC 2047 words split mid-character, file names with paths,
Outlook's winmail.dat, files pasted as uuencode, and the original Message-ID
inside a bounce. Helpers take bytes, text or an already parsed
`email.message.Message` and return plain values plus defect strings; an
unreadable container raises `ValueError` so the caller keeps its bytes. Nothing
here imports mail-parser, logs or touches the disk.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import email.parser
import mimetypes
import re
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from tnefparse import TNEF
from tnefparse.mapi import IMESSAGE_SIG, IMESSAGE_SIG_LEN

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
_MAX_EMBEDDED = 50
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


# --- charsets, encoded words, file names -------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
# Labels a browser reads as windows-1252 (WHATWG Encoding): their 0x80-0x9F bytes
# are smart quotes and the euro sign in practice, not C1 controls.
_WINDOWS_1252_LABELS = frozenset({"ascii", "iso8859-1", "latin-1", "cp1252"})
_SINGLE_BYTE = ("ascii", "iso8859", "latin", "cp125", "cp437", "cp850", "koi8", "mac-")
_STATEFUL = ("utf-7", "utf-16", "utf-32", "hz")
_MAX_FILENAME_BYTES = 200
_MAX_DEFECT = 300


def decode_words(text: str, defects: list[str], where: str) -> str:
    """Decode RFC 2047 encoded words, leniently, as mail clients do.

    Whitespace between adjacent words is dropped, and adjacent words in one
    charset are joined before decoding, so a character split across two
    words (a common encoder bug) survives.
    """
    if "=?" not in text:
        return clean(text)
    pieces: list[str] = []
    pending = bytearray()
    charset = ""
    position = 0
    after_word = False

    def flush() -> None:
        if pending:
            decoded, defect = decode_text(bytes(pending), charset)
            if defect:
                defects.append(cut(f"{where}: {defect}"))
            pieces.append(decoded)
            pending.clear()

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        if gap and not (after_word and gap.isspace()):
            flush()
            pieces.append(gap)
        data, repaired = _word_bytes(match.group(2), match.group(3))
        word_charset = match.group(1).split("*", 1)[0].lower()
        if repaired:
            defects.append(cut(f"{where}: broken base64 in {match.group(0)!r}; read what it held"))
        if data is None:
            flush()
            defects.append(cut(f"{where}: encoded word does not decode: {match.group(0)!r}"))
            pieces.append(match.group(0))
            after_word = False
        else:
            if word_charset != charset:
                flush()
                charset = word_charset
            pending.extend(data)
            after_word = True
        position = match.end()
    flush()
    pieces.append(text[position:])
    return clean("".join(pieces))


def _word_bytes(encoding: str, payload: str) -> tuple[bytes | None, bool]:
    """The word's bytes (None if hopeless) and whether broken base64 was repaired."""
    try:
        if encoding in "qQ":
            return binascii.a2b_qp(payload.encode("utf-8"), header=True), False
        raw = payload.encode("ascii").rstrip(b"=")
        data = bytes(c for c in raw if c in _BASE64_ALPHABET)
        repaired = len(data) != len(raw) or len(data) % 4 == 1
        data = data[: len(data) - (len(data) % 4 == 1)]  # a lone sextet holds no byte
        return base64.b64decode(data + b"=" * (-len(data) % 4)), repaired
    except (binascii.Error, ValueError):
        return None, False


def octets_to_text(value: str, defects: list[str], where: str) -> str:
    """The stdlib keeps raw 8-bit octets as surrogates; read them as UTF-8 or cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        defects.append(f"{where}: raw 8-bit bytes that are not UTF-8; read as windows-1252")
        return _cp1252(data)


def decode_text(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode bytes by their declared charset, checking the label against the bytes.

    Returns the text and a defect, or None when the label was right. A label for
    a single-byte charset on bytes that are valid UTF-8 is a lie (real Latin-1
    text is almost never valid UTF-8), so UTF-8 wins.
    """
    label = (declared or "").strip().strip("\"'").lower()
    if not data:
        return "", None
    try:
        codec = codecs.lookup(label).name if label else ""
    except (LookupError, ValueError):
        text, used = _guess(data)
        return text, f"unknown charset {label!r}; read as {used}"
    if data.isascii() and not codec.startswith(_STATEFUL) and "2022" not in codec:
        return data.decode("ascii"), None
    if not codec:
        text, used = _guess(data)
        return text, None if used == "utf-8" else f"no charset declared; read as {used}"
    if codec.startswith(_SINGLE_BYTE) and _is_utf8(data):
        return data.decode("utf-8"), f"declared charset {label} but the bytes are UTF-8"
    if codec.startswith(("utf-16", "utf-32")) and b"\x00" not in data:
        text, used = _guess(data)
        return text, f"declared charset {label} but the bytes are not; read as {used}"
    if codec in _WINDOWS_1252_LABELS:
        defect = f"declared charset {label} but 8-bit bytes; read as windows-1252"
        return _cp1252(data), defect if codec == "ascii" else None
    try:
        return _no_surrogates(data.decode(codec)), None
    except (UnicodeError, LookupError, ValueError):  # also codecs that are not text codecs
        text, used = _guess(data)
        return text, f"bytes are not valid {label}; read as {used}"


def _guess(data: bytes) -> tuple[str, str]:
    if _is_utf8(data):
        return data.decode("utf-8"), "utf-8"
    return _cp1252(data), "windows-1252"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _cp1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # five bytes cp1252 leaves undefined
        return data.decode("latin-1")


def _no_surrogates(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def clean(text: str) -> str:
    """No NULs or lone surrogates: PostgreSQL text columns refuse them."""
    return _no_surrogates(text).replace("\x00", "\ufffd")


def cut(text: str) -> str:
    return text if len(text) <= _MAX_DEFECT else text[: _MAX_DEFECT - 1] + "…"


_BREAKS = frozenset({"Cc", "Zl", "Zp"})
_INVISIBLE = frozenset({"Cf", "Cs", "Co"})
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)}
)


def safe_filename(name: str, fallback: str) -> str:
    """A name safe on any disk: no path, no control or bidi characters, bounded.

    Accents and Ñ stay: they are the name staff will recognise.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        "_" if ch in '<>:"|?*' else " " if unicodedata.category(ch) in _BREAKS else ch
        for ch in name
        if unicodedata.category(ch) not in _INVISIBLE  # bidi overrides disguise extensions
    )
    name = " ".join(name.split()).strip(" .")
    if not name:
        return fallback
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = name, ""
    if stem.split(".")[0].upper() in _WINDOWS_DEVICES:
        stem = "_" + stem
    suffix = f".{ext}" if ext else ""
    budget = _MAX_FILENAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:budget].decode("utf-8", "ignore").rstrip(" .")
    return f"{stem or 'file'}{suffix}"


# --- Outlook winmail.dat (TNEF) ---------------------------------------------


def is_tnef(content_type: str, filename: str) -> bool:
    """Outlook sends TNEF under either type, or as octet-stream named winmail.dat."""
    return content_type in _TNEF_TYPES or filename.strip().lower() == "winmail.dat"


def unpack_tnef(data: bytes) -> TnefContents:
    """Unpack winmail.dat with tnefparse; raise ValueError when it cannot be read."""
    _check_tnef_stream(data)
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


def _check_tnef_stream(data: bytes) -> None:
    """Refuse streams whose property counts exceed their data.

    tnefparse loops once per announced MAPI property even past the end of the data,
    so a corrupt count of four billion would hang the parse. Embedded messages
    (attachments that are themselves TNEF) are checked the same way, and a stream
    holding more of them than any real mail does is refused outright.
    """
    if len(data) < 6 or _u32(data, 0) != TNEF.TNEF_SIGNATURE:
        raise ValueError("not a TNEF stream (wrong signature)")
    _check_tnef_objects(data)
    starts: list[int] = []
    start = data.find(IMESSAGE_SIG)
    while start != -1:
        if len(starts) == _MAX_EMBEDDED:
            raise ValueError(f"TNEF stream embeds more than {_MAX_EMBEDDED} messages")
        starts.append(start + IMESSAGE_SIG_LEN)
        start = data.find(IMESSAGE_SIG, start + 1)
    for start in starts:
        if len(data) - start >= 6 and _u32(data, start) == TNEF.TNEF_SIGNATURE:
            _check_tnef_objects(data[start:])


def _check_tnef_objects(data: bytes) -> None:
    counted = {TNEF.ATTMAPIPROPS, TNEF.ATTATTACHMENT, TNEF.ATTRECIPTABLE}
    offset = 6
    while offset + TNEF.MIN_OBJ_SIZE < len(data):
        name, length = struct.unpack_from("<H", data, offset + 1)[0], _u32(data, offset + 5)
        body = data[offset + 9 : offset + 9 + length]
        if name in counted and len(body) >= 4 and _u32(body, 0) > len(body) // 4:
            raise ValueError(f"TNEF object {name:#06x} announces more properties than it holds")
        offset += min(len(data) - offset, length + 11)


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
    ends = [j for j, line in enumerate(lines) if line.strip() == "end"]
    kept: list[str] = []
    files: list[Extracted] = []
    defects: list[str] = []
    i = 0
    while i < len(lines):
        match = _UU_BEGIN.fullmatch(lines[i].rstrip("\r"))
        if match:
            after = bisect.bisect_right(ends, i)
            end = ends[after] if after < len(ends) else None
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
    if depth < _MAX_DEPTH and message.get_content_maintype() == "multipart" and payload:
        for child in payload if isinstance(payload, list) else ():
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
