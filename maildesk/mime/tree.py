"""The MIME tree of a raw mail, built without holding the whole mail as lines at once.

`email.message_from_bytes` decodes the whole mail to one string and splits it into
lines before parsing: for a mail with a 25 MB attachment that is about 300 MB at its
peak, nine times the mail. Fed in pieces, the same stdlib parser builds the same tree
while only each piece is split. It still keeps a part's body as a list of lines until it
joins them, and a 77-byte line of base64 is a string of about 130 bytes: 2.7 times the
mail at the peak. So each run of base64 lines reaches the parser as one "line"
(`_Lines`), and the peak is the body and its joined copy, twice the part.

The mail may be bytes or a file open for reading (the reader child's copy of a stored
mail), so that the reader never holds the raw mail beside its tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.feedparser import BufferedSubFile  # type: ignore[attr-defined]  # not in typeshed
from email.message import Message
from email.parser import BytesFeedParser
from email.policy import Policy, compat32
from typing import BinaryIO

# Large enough that feeding costs nothing next to parsing, small next to a big mail.
PIECE = 64 * 1024

_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]+\r?\n")


class _Lines(BufferedSubFile):  # type: ignore[misc]
    """The parser's line buffer, each run of base64 lines pushed as one line.

    The parser tests lines one by one only to find a header (a colon, or a leading blank),
    a boundary (a leading "--") or the empty line after the headers, and a base64 line is
    none of them; bodies, preambles and epilogues are their lines joined, so a run gives
    the same tree as its lines.
    """

    def pushlines(self, lines: Iterable[str]) -> None:
        merged: list[str] = []
        run: list[str] = []
        for line in lines:
            if _BASE64_LINE.fullmatch(line):
                run.append(line)
                continue
            if run:
                merged.append("".join(run))
                run = []
            merged.append(line)
        if run:
            merged.append("".join(run))
        super().pushlines(merged)


class _Parser(BytesFeedParser):
    def __init__(self, policy: Policy) -> None:
        super().__init__(policy=policy)
        self._input = _Lines()  # read first when the first piece is fed


def message_from_bytes(raw: bytes | BinaryIO, policy: Policy = compat32) -> Message:
    """What `email.message_from_bytes(raw, policy=policy)` returns, at a fraction of its peak.

    A file is read from its start, a piece at a time.
    """
    parser = _Parser(policy)
    for piece in pieces(raw):
        parser.feed(piece)
    return parser.close()


def pieces(raw: bytes | BinaryIO) -> Iterable[bytes]:
    """The mail `PIECE` bytes at a time, from its start."""
    if isinstance(raw, bytes | bytearray | memoryview):
        for start in range(0, len(raw), PIECE):
            yield bytes(raw[start : start + PIECE])
        return
    raw.seek(0)
    while piece := raw.read(PIECE):
        yield piece
