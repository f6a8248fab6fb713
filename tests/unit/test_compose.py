"""Outbound headers read back exactly as written."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default

from maildesk.outbound.compose import Rendered, build

WORDS = "Resumen semanal de la mesa de ayuda: 12 nuevas, 3 cerradas, 1 atrasada, ñandú más"


def test_subject_of_any_length_reads_back_without_a_leading_space() -> None:
    """A subject near the line limit is folded after its first words, never right after `Subject:`."""
    for length in range(40, len(WORDS) + 1):
        subject = WORDS[:length].strip()
        raw = build(
            Rendered(subject, "texto", "<p>texto</p>"),
            from_name="Soporte",
            from_addr="soporte@alameda.example",
            to="vecina@correo.example",
            message_id="<1@alameda.example>",
            date=datetime(2026, 11, 23, 13, 0, tzinfo=UTC),
            loop_marker="soporte@alameda.example",
        ).as_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
        assert b"Subject:\r\n" not in head
        assert email.message_from_bytes(raw, policy=default)["Subject"] == subject
