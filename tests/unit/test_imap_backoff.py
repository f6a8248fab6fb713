"""Reconnect delays of the mailbox watcher."""

from __future__ import annotations

from maildesk.sources.imap import backoff_delay


def test_backoff_doubles_from_one_second_up_to_five_minutes() -> None:
    """The delay starts at 1 s, doubles per failed attempt and stays at 300 s."""
    assert [backoff_delay(a) for a in range(10)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff_delay(50) == 300
    assert backoff_delay(10**9) == 300  # no overflow after days of failures


def test_backoff_treats_a_negative_attempt_as_the_first() -> None:
    """A negative attempt number cannot make the watcher spin."""
    assert backoff_delay(-3) == 1
