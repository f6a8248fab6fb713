"""Dates as residents read them: in the desk's timezone, written the desk's language's way."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time


def local_datetime(moment: datetime, *, timezone: str, language: str) -> str:
    """A date and time in the desk's timezone, written the way the desk's language does."""
    local = moment.astimezone(ZoneInfo(timezone))
    day = format_date(local, format="medium", locale=language)
    return f"{day}, {format_time(local, format='short', locale=language)}"


def local_day(moment: datetime, *, timezone: str) -> date:
    """The desk's calendar day at `moment`: a residency "until" a day lasts all of it."""
    return moment.astimezone(ZoneInfo(timezone)).date()
