"""SQLite's bucket function, cached by hour, gives every minute the bucket of its local day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from maildesk.reports.periods import By, bucket_of
from maildesk.reports.sql import _sqlite_bucket


@pytest.mark.parametrize(
    ("timezone", "start"),
    [
        ("America/Santiago", datetime(2026, 4, 4, 12, tzinfo=UTC)),  # back an hour at midnight
        ("America/Santiago", datetime(2026, 9, 5, 12, tzinfo=UTC)),  # midnight skipped
        ("America/St_Johns", datetime(2026, 10, 31, 12, tzinfo=UTC)),  # UTC-2:30, midnight at :30
        ("Asia/Kolkata", datetime(2026, 11, 29, 12, tzinfo=UTC)),  # UTC+5:30
    ],
)
def test_every_minute_falls_in_its_local_days_bucket(timezone: str, start: datetime) -> None:
    """Across a daylight-saving change and half-hour offsets, no minute lands in the wrong day, week or month."""
    zone = ZoneInfo(timezone)
    for minute in range(0, 3 * 24 * 60, 7):
        moment = start + timedelta(minutes=minute)
        stored = moment.replace(tzinfo=None).isoformat(sep=" ")
        for by in By:
            expected = bucket_of(moment.astimezone(zone).date(), by).isoformat()
            assert _sqlite_bucket(stored, by.value, timezone) == expected, (stored, by)
