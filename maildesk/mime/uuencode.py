"""Files sent as uuencode: `begin 644 name ... end` blocks pasted into a body, and
parts whose Content-Transfer-Encoding is x-uuencode.
"""

from __future__ import annotations

import binascii
import bisect
import re

from maildesk.mime.filenames import Extracted, guess_type

TRANSFER_ENCODINGS = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})
"""Content-Transfer-Encoding values the stdlib does not decode (it fails silently)."""

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
