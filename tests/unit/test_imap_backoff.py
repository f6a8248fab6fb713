"""Reconnect delays of the mailbox watcher."""

from __future__ import annotations

from maildesk.inbound.sources.imap import backoff_delay, login_backoff_delay


def test_backoff_doubles_from_one_second_up_to_five_minutes() -> None:
    """The delay starts at 1 s, doubles per failed attempt and stays at 300 s."""
    assert [backoff_delay(a) for a in range(10)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff_delay(50) == 300
    assert backoff_delay(10**9) == 300  # no overflow after days of failures


def test_backoff_treats_a_negative_attempt_as_the_first() -> None:
    """A negative attempt number cannot make the watcher spin."""
    assert backoff_delay(-3) == 1


def test_a_refused_login_is_retried_slowly_up_to_an_hour() -> None:
    """A failure a person must fix waits 1 min, doubling per attempt, and never more than an hour."""
    assert [login_backoff_delay(a) for a in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert login_backoff_delay(10**9) == 3600
