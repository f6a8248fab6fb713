"""Whether the desk is within its office hours right now, when it opens next, and whom to
call meanwhile (pure: `now` is passed in; the business calendar already knows the hours
and holidays).

The status page shows it, and so may any other page of the desk (the web form).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from maildesk.config import Config
from maildesk.sla.policy import desk_calendar


@dataclass(frozen=True, slots=True)
class OpenNow:
    """`next_opening` (UTC) is None while open; `contacts` are the desk's emergency lines."""

    open: bool
    next_opening: datetime | None
    contacts: tuple[str, ...]


def open_now(config: Config, now: datetime) -> OpenNow:
    """The desk's office hours at `now` (aware), with its `desk.emergency_contacts`."""
    calendar = desk_calendar(config, now)
    is_open = calendar.is_open(now)
    return OpenNow(
        open=is_open,
        next_opening=None if is_open else calendar.next_open(now),
        contacts=config.desk.emergency_contacts,
    )
