"""A mail with a big attachment is read at twice its size, into the same tree as the stdlib's."""

from __future__ import annotations

import email
import hashlib
import os
import subprocess
import sys
import tempfile
from email.message import EmailMessage, Message
from pathlib import Path

import pytest

from maildesk.inbound.parse import parse_mail
from maildesk.mime import tree

MAILS = sorted((Path(__file__).parent.parent / "data" / "mail").glob("*.eml"))
MB = 1024 * 1024


def big_mail(size: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "vecina@correo.example"
    mail["To"] = "soporte@alameda.example"
    mail["Subject"] = "Planos del baño, torre Ñ"
    mail["Message-ID"] = "<planos@correo.example>"
    mail.set_content("Les mando los planos del baño. Ñandú.")
    mail.add_attachment(
        os.urandom(size), maintype="application", subtype="octet-stream", filename="planos.bin"
    )
    return mail.as_bytes()


def shape(message: Message) -> list[tuple[str, object, object, object, list[str]]]:
    """Every part's type, payload (as stored), preamble, epilogue and defects."""
    return [
        (
            part.get_content_type(),
            None if part.is_multipart() else part.get_payload(),
            part.preamble,
            part.epilogue,
            [type(d).__name__ for d in part.defects],
        )
        for part in message.walk()
    ]


BASE64_AROUND_THE_BOUNDARIES = (
    b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    b"QUJDRA==\r\nQUJDRA==\r\n"  # a preamble that looks like base64
    b"--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"QUJDRA==\r\nQUJDRA==\r\n--b1\r\n"
    b"QUJDRA==\r\nQUJDRA==\r\n\r\nQUJD\r\n"  # a part whose "headers" are base64
    b"--b1--\r\nQUJDRA==\r\nQUJDRA==\r\n"  # and an epilogue
)


@pytest.mark.parametrize(
    "raw",
    [p.read_bytes() for p in MAILS] + [BASE64_AROUND_THE_BOUNDARIES, big_mail(300_000)],
    ids=[p.name for p in MAILS] + ["base64-around-boundaries", "big-attachment"],
)
def test_the_tree_is_the_stdlib_tree(raw: bytes) -> None:
    ours, stdlib = tree.message_from_bytes(raw), email.message_from_bytes(raw)
    assert shape(ours) == shape(stdlib)
    assert ours.as_bytes() == stdlib.as_bytes()


def test_a_mail_read_from_a_file_is_the_mail_read_from_bytes() -> None:
    raw = big_mail(200_000)
    with tempfile.TemporaryFile() as file:
        file.write(raw)
        assert parse_mail(file) == parse_mail(raw)


# Measured in an interpreter of its own: tracemalloc counts every thread's allocations, and
# a test worker may still run threads (servers, pools) that earlier tests started.
PEAK_OF_A_READ = """
import tempfile, tracemalloc
from maildesk.inbound.parse import parse_mail
from tests.unit.test_big_mail import MB, big_mail
raw = big_mail(10 * MB)
with tempfile.TemporaryFile() as file:
    file.write(raw)
    tracemalloc.start()
    parse_mail(file)
    print(tracemalloc.get_traced_memory()[1] / len(raw))
"""


def in_own_interpreter(script: str, *args: str) -> str:
    """What `script` prints, run by an interpreter of its own from the project's root:
    a memory peak measured there counts no thread nor import of the test worker."""
    measured = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert measured.returncode == 0, measured.stderr
    return measured.stdout


def test_reading_a_big_attachment_costs_twice_the_mail() -> None:
    """The reader child's share of a big mail's import: it never holds the raw mail (a
    file) and the tree's lines are not string objects each; the stdlib's way peaked at
    2.7 times the mail, and 3.7 with the raw mail beside it."""
    ratio = float(in_own_interpreter(PEAK_OF_A_READ).split()[-1])
    assert ratio < 2.2, f"peak {ratio:.2f}x the mail"
    raw = big_mail(10 * MB)
    with tempfile.TemporaryFile() as file:
        file.write(raw)
        mail = parse_mail(file)
    [planos] = mail.attachments
    assert planos.filename == "planos.bin" and len(planos.data) == 10 * MB
    assert mail.subject == "Planos del baño, torre Ñ"
    assert (
        hashlib.sha256(planos.data).digest()
        == hashlib.sha256(
            email.message_from_bytes(raw).get_payload()[1].get_payload(decode=True)
        ).digest()
    )
