"""Hostile mail that is small on the wire and huge once read: every expansion is bounded."""

from __future__ import annotations

import tempfile
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP
from typing import BinaryIO

import pytest

from maildesk.domain import ParsedMail
from maildesk.inbound.parse import parse_mail
from maildesk.inbound.reader_process import ReaderProcess, ReadFailed, ReadSettings
from maildesk.mime.limits import MB, ParseLimits
from maildesk.mime.tnef import unpack_tnef
from tests.mails import make_mail, winmail_bomb


def test_winmail_bomb_keeps_what_fits_and_says_so() -> None:
    """5,000 files in a winmail.dat with a bound of 100: 100 kept, one defect, quickly."""
    raw = make_mail(attachments=[("winmail.dat", "application/ms-tnef", winmail_bomb(5000))])
    started = time.monotonic()
    mail = parse_mail(raw, ParseLimits(files=100))
    elapsed = time.monotonic() - started
    assert len(mail.attachments) == 100
    assert mail.attachments[0].filename == "presupuesto.txt"
    assert "truncated: 5000 files in winmail.dat, kept 100" in mail.defects
    assert elapsed < 2.0


def test_unpack_tnef_cuts_the_stream_before_the_file_too_many() -> None:
    contents = unpack_tnef(winmail_bomb(50), max_files=3)
    assert (len(contents.files), contents.announced) == (3, 50)


def test_too_many_parts_are_dropped_with_a_defect() -> None:
    raw = make_mail(attachments=[(f"f{n}.txt", "text/plain", b"x") for n in range(40)])
    mail = parse_mail(raw, ParseLimits(parts=10))
    # the 10 parts read: the message, its text body and 8 files
    assert len(mail.attachments) == 8
    assert "truncated: 42 MIME parts, kept 10" in mail.defects
    assert mail.text.startswith("Hola, hay una fuga")


def test_too_many_files_are_dropped_with_a_defect() -> None:
    raw = make_mail(attachments=[(f"f{n}.txt", "text/plain", b"x") for n in range(12)])
    mail = parse_mail(raw, ParseLimits(files=5))
    assert len(mail.attachments) == 5
    assert "truncated: 12 files, kept 5" in mail.defects


def test_decoded_size_is_bounded() -> None:
    """Files beyond the decoded budget are dropped, and a long body is cut to it."""
    raw = make_mail(
        body="ñ" * 2000,
        attachments=[(f"f{n}.bin", "application/pdf", b"%" * 4000) for n in range(3)],
    )
    mail = parse_mail(raw, ParseLimits(decoded_bytes=10_000))
    assert len(mail.attachments) == 1
    assert "truncated: decoded size over 0 MB; 2 files dropped" in mail.defects


def test_body_over_the_budget_is_cut() -> None:
    mail = parse_mail(make_mail(body="a" * 5000), ParseLimits(decoded_bytes=1000))
    assert len(mail.text) <= 1000
    assert any(d.startswith("truncated: part 1 (text/plain) body of") for d in mail.defects)


def test_deep_nesting_is_kept_whole_past_the_bound() -> None:
    inner = EmailMessage(policy=SMTP)
    inner.set_content("fondo")
    for _ in range(12):
        outer = EmailMessage(policy=SMTP)
        outer.make_mixed()
        outer.attach(inner)
        inner = outer
    inner["From"] = "ana@example.com"
    inner["Subject"] = "anidado"
    mail = parse_mail(inner.as_bytes(), ParseLimits(depth=5))
    assert any("nested over 5 levels; kept whole" in d for d in mail.defects)


def read(reader: ReaderProcess, raw: bytes) -> ParsedMail:
    """The mail handed to the reader as the runner hands it: a file with a descriptor."""
    with tempfile.TemporaryFile() as file:
        file.write(raw)
        return reader.read(file)


def stalling_reader(raw: BinaryIO, limits: ParseLimits) -> ParsedMail:
    """A reader stuck on a hostile mail (run in the child process, never in the test's)."""
    raw.seek(0)
    if b"stall" in raw.read():
        threading.Event().wait(60)
    return parse_mail(raw, limits)


def test_a_reader_slow_to_start_does_not_count_against_the_mail() -> None:
    """The time limit is the mail's: a child that takes longer to start than a mail may
    take to read (a busy machine) still reads the mail, and a stalled mail still fails."""
    from tests.slow_reader import IMPORT_SECONDS, slow_to_import_reader

    settings = ReadSettings(
        ParseLimits(), memory_bytes=1024 * MB, seconds=1.0, reader=slow_to_import_reader
    )
    assert settings.seconds < IMPORT_SECONDS
    reader = ReaderProcess(settings)
    try:
        assert read(reader, make_mail(subject="Portón")).subject == "Portón"
    finally:
        reader.close()


def test_reader_over_its_time_limit_is_stopped_and_replaced() -> None:
    settings = ReadSettings(
        ParseLimits(), memory_bytes=1024 * MB, seconds=1.0, reader=stalling_reader
    )
    reader = ReaderProcess(settings)
    try:
        with pytest.raises(ReadFailed, match="reading took over 1 s; the reader was stopped"):
            read(reader, make_mail(subject="stall"))
        assert read(reader, make_mail(subject="Ascensor")).subject == "Ascensor"
    finally:
        reader.close()
