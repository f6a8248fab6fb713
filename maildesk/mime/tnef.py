"""Outlook's winmail.dat (TNEF): the files and body inside it, read with tnefparse.

tnefparse trusts the counts a stream announces, so every stream is checked first
and one that could hang it is refused with `ValueError`, as is any that does not
unpack; the caller then keeps winmail.dat itself. tnefparse also copies the rest of
the stream for every object, so a stream of more files than `max_files` is cut
before the first file too many: the files that fit are kept, and `announced` says
how many there were.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tnefparse import TNEF
from tnefparse.mapi import IMESSAGE_SIG, IMESSAGE_SIG_LEN

from maildesk.mime.filenames import Extracted, guess_type

_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_MAX_EMBEDDED = 50


@dataclass(frozen=True, slots=True)
class TnefContents:
    """What a winmail.dat held that maildesk can use."""

    files: tuple[Extracted, ...]
    text: str
    html: str
    rtf_only: bool
    announced: int = 0


def is_tnef(content_type: str, filename: str) -> bool:
    """Outlook sends TNEF under either type, or as octet-stream named winmail.dat."""
    return content_type in _TNEF_TYPES or filename.strip().lower() == "winmail.dat"


def unpack_tnef(data: bytes, max_files: int | None = None) -> TnefContents:
    """Unpack winmail.dat with tnefparse; raise ValueError when it cannot be read."""
    starts = _check_tnef_stream(data)
    if max_files is not None and len(starts) > max_files:
        data = data[: starts[max_files]]
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
    return TnefContents(tuple(files), text, html, rtf_only, len(starts))


def _check_tnef_stream(data: bytes) -> list[int]:
    """Refuse streams whose property counts exceed their data; the offsets of its files.

    tnefparse loops once per announced MAPI property even past the end of the data,
    so a corrupt count of four billion would hang the parse. Embedded messages
    (attachments that are themselves TNEF) are checked the same way, and a stream
    holding more of them than any real mail does is refused outright.
    """
    if len(data) < 6 or _u32(data, 0) != TNEF.TNEF_SIGNATURE:
        raise ValueError("not a TNEF stream (wrong signature)")
    files = _check_tnef_objects(data)
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
    return files


def _check_tnef_objects(data: bytes) -> list[int]:
    """Check each object's property count; the offsets where the stream's files start."""
    counted = {TNEF.ATTMAPIPROPS, TNEF.ATTATTACHMENT, TNEF.ATTRECIPTABLE}
    files: list[int] = []
    offset = 6
    while offset + TNEF.MIN_OBJ_SIZE < len(data):
        name, length = struct.unpack_from("<H", data, offset + 1)[0], _u32(data, offset + 5)
        if name == TNEF.ATTATTACHRENDDATA:
            files.append(offset)
        body = data[offset + 9 : offset + 9 + length]
        if name in counted and len(body) >= 4 and _u32(body, 0) > len(body) // 4:
            raise ValueError(f"TNEF object {name:#06x} announces more properties than it holds")
        offset += min(len(data) - offset, length + 11)
    return files


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
