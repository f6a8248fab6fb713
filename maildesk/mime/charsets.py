"""Text from bytes whose charset label may lie: bodies, RFC 2047 words, raw 8-bit headers.

Every decoder here returns text PostgreSQL can store (`clean`) and says in a defect
string what it had to guess, so nothing a sender wrote is dropped without a word.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Callable

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
# Labels a browser reads as windows-1252 (WHATWG Encoding): their 0x80-0x9F bytes
# are smart quotes and the euro sign in practice, not C1 controls.
_WINDOWS_1252_LABELS = frozenset({"ascii", "iso8859-1", "latin-1", "cp1252"})
_SINGLE_BYTE = ("ascii", "iso8859", "latin", "cp125", "cp437", "cp850", "koi8", "mac-")
_STATEFUL = ("utf-7", "utf-16", "utf-32", "hz")
_MAX_DEFECT = 300
# Every C0 and C1 control and DEL. In a header value none is text: CR and LF would
# start a new header in a mail we send (CVE-2024-6923), the rest are terminal escapes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

Decoded = tuple[str, str | None]
"""Text and a defect, or None when the bytes said what their label said."""


def decode_words(text: str, defects: list[str], where: str) -> str:
    """Decode RFC 2047 encoded words, leniently, as mail clients do.

    Whitespace between adjacent words is dropped, and adjacent words in one
    charset are joined before decoding, so a character split across two
    words (a common encoder bug) survives.
    """
    if "=?" not in text:
        return header_text(text)
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
    return header_text("".join(pieces))


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


def decode_text(data: bytes, declared: str | None) -> Decoded:
    """Decode bytes by their declared charset, checking the label against the bytes.

    Returns the text and a defect, or None when the label was right. A label for
    a single-byte charset on bytes that are valid UTF-8 is a lie (real Latin-1
    text is almost never valid UTF-8), so UTF-8 wins.
    """
    label = (declared or "").strip().strip("\"'").lower()
    if not data:
        return "", None
    if not label:
        text, used = _guess(data)
        return text, None if used == "utf-8" else f"no charset declared; read as {used}"
    try:
        codec = codecs.lookup(label).name
    except (LookupError, ValueError):
        text, used = _guess(data)
        return text, f"unknown charset {label!r}; read as {used}"
    for check in _LABEL_CHECKS:
        if (found := check(data, label, codec)) is not None:
            return found
    return _as_labelled(data, label, codec)


def _plain_ascii(data: bytes, label: str, codec: str) -> Decoded | None:
    """ASCII bytes read the same in any charset but the stateful ones."""
    if data.isascii() and not codec.startswith(_STATEFUL) and "2022" not in codec:
        return data.decode("ascii"), None
    return None


def _utf8_labelled_single_byte(data: bytes, label: str, codec: str) -> Decoded | None:
    if codec.startswith(_SINGLE_BYTE) and _is_utf8(data):
        return data.decode("utf-8"), f"declared charset {label} but the bytes are UTF-8"
    return None


def _wide_without_nuls(data: bytes, label: str, codec: str) -> Decoded | None:
    """UTF-16 or UTF-32 text of any script has NUL bytes; without them the label lies."""
    if codec.startswith(("utf-16", "utf-32")) and b"\x00" not in data:
        text, used = _guess(data)
        return text, f"declared charset {label} but the bytes are not; read as {used}"
    return None


def _windows_1252(data: bytes, label: str, codec: str) -> Decoded | None:
    """Latin-1 and ASCII labels are read as windows-1252; 8-bit under ASCII is a defect."""
    if codec not in _WINDOWS_1252_LABELS:
        return None
    defect = f"declared charset {label} but 8-bit bytes; read as windows-1252"
    return _cp1252(data), defect if codec == "ascii" else None


_LABEL_CHECKS: tuple[Callable[[bytes, str, str], Decoded | None], ...] = (
    _plain_ascii,
    _utf8_labelled_single_byte,
    _wide_without_nuls,
    _windows_1252,
)


def _as_labelled(data: bytes, label: str, codec: str) -> Decoded:
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


def header_text(text: str) -> str:
    """A header value as one line of text: each run of control characters becomes a space.

    A decoded word may hold CR/LF (`=?utf-8?q?a=0D=0ABcc:...?=`); kept, it would
    write headers into every mail we send that quotes the value.
    """
    return _CONTROL.sub(" ", clean(text))


def cut(text: str) -> str:
    """A defect string bounded in length, so one absurd header cannot bloat the record."""
    return text if len(text) <= _MAX_DEFECT else text[: _MAX_DEFECT - 1] + "…"
