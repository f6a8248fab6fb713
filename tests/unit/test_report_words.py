"""The words of a report for people: channels and the `--by` value in both languages."""

from __future__ import annotations

from datetime import UTC, date, datetime

from maildesk import labels
from maildesk.reports import By, Report, Window
from maildesk.reports.formats import table
from maildesk.reports.tables import Kind, Table, columns


def test_channels_have_words_in_spanish_and_english() -> None:
    """email, phone, walk-in and web read as people say them; an unknown channel is shown as stored."""
    assert [labels.channel_label(c, "es") for c in ("email", "phone", "walk-in", "web")] == [
        "correo",
        "teléfono",
        "presencial",
        "web",
    ]
    assert [labels.channel_label(c, "en") for c in ("email", "phone", "walk-in", "web")] == [
        "email",
        "phone",
        "walk-in",
        "web",
    ]
    assert labels.channel_label("fax", "es") == "fax"


def test_the_table_words_the_channel_and_the_period() -> None:
    """The terminal table names the channel and the `--by` value in the desk's language."""
    volume = Table(
        "volume_by",
        columns(("dimension", Kind.TEXT), ("key", Kind.NAME), ("opened", Kind.INT)),
        [{"dimension": "channel", "key": "walk-in", "opened": 2}],
    )
    window = Window(date(2026, 11, 1), date(2026, 11, 30), By.WEEK, "America/Santiago")
    report = Report("Alameda", window, datetime(2026, 12, 1, tzinfo=UTC), 30, {"volume_by": volume})
    spanish = table.write(report, "es").decode()
    assert "(semana, America/Santiago)" in spanish and "presencial" in spanish
    english = table.write(report, "en").decode()
    assert "(week, America/Santiago)" in english and "walk-in" in english
