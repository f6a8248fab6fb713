"""Which files a mail carries and which it links (pure)."""

from __future__ import annotations

from maildesk.domain import Attachment
from maildesk.outbound.linked_files import size_label, split


def files(*sizes: int) -> list[Attachment]:
    return [Attachment(f"f{n}.bin", "application/pdf", b"x" * size) for n, size in enumerate(sizes)]


def test_a_file_over_the_size_is_linked_and_the_rest_still_attached() -> None:
    assert split(files(10, 500, 20), per_file=100, total=1000) == [True, False, True]


def test_files_past_the_total_are_linked_in_order() -> None:
    assert split(files(60, 60, 30), per_file=100, total=100) == [True, False, True]


def test_sizes_read_as_people_read_them() -> None:
    assert [size_label(n) for n in (10, 850 * 1024, 1536 * 1024)] == ["1 KB", "850 KB", "1.5 MB"]
