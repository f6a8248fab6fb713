"""What the files in a mail are called and what they are: the sender's name, read
from whatever encoding it came in, a type when the sender named none, and a name
safe to store.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from dataclasses import dataclass
from email.message import Message

from maildesk.mime.charsets import cut, decode_words, octets_to_text

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
_MAX_FILENAME_BYTES = 200
_BREAKS = frozenset({"Cc", "Zl", "Zp"})
_INVISIBLE = frozenset({"Cf", "Cs", "Co"})
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)}
)


@dataclass(frozen=True, slots=True)
class Extracted:
    """A file found inside another part; the name is still the sender's, unsanitised."""

    filename: str
    content_type: str
    data: bytes


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


def sender_filename(part: Message, defects: list[str], index: int) -> str:
    """The sender's file name, decoded (RFC 2231, RFC 2047, raw 8-bit), not yet safe.

    The headers are re-read from their raw octets first: through the part itself
    the stdlib turns a raw UTF-8 name into replacement characters.
    """
    view = Message()
    for key, value in part.raw_items():
        if key.lower() in ("content-type", "content-disposition"):
            where = f"part {index} {key.lower()}"
            view[key] = octets_to_text(str(value), defects, where)
    try:
        name = view.get_filename() or ""
    except Exception as exc:  # CPython's decode_params fails on mixed RFC 2231 sections
        defects.append(cut(f"part {index}: file name unreadable ({exc!r})"))
        name = ""
    name = decode_words(name, defects, f"part {index} filename")
    if "\ufffd" in name:
        defects.append(f"part {index}: file name has undecodable bytes")
    return name


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
