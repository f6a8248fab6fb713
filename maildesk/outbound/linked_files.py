"""Which attachments of a mail travel in it, and which are linked instead (pure).

A notice once carried a resident's every attachment: a 50 MB body and three 10 MB
photos made notices of 41-105 MB per staff member, stored again in the outbox. A file
over `limits.notice_attach_mb`, or past `limits.notice_attach_total_mb` for the whole
mail, is linked instead: the mail lists its name and size with the link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maildesk.domain import Attachment

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LinkedFile:
    """A file the mail links instead of carrying; what the templates show."""

    filename: str
    size: str
    url: str


def split(attachments: Sequence[Attachment], *, per_file: int, total: int) -> list[bool]:
    """For each attachment in order: True to attach it, False to link it."""
    used = 0
    attach: list[bool] = []
    for item in attachments:
        size = len(item.data)
        fits = size <= per_file and used + size <= total
        if fits:
            used += size
        attach.append(fits)
    return attach


def size_label(size: int) -> str:
    """A file size as people read it: "850 KB", "12.3 MB"."""
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"
