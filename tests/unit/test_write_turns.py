"""SQLite's writers in one process take turns in the order they came, and never wait for themselves."""

from __future__ import annotations

import threading

from maildesk.write_turns import WriteTurns


def test_turns_are_served_in_the_order_they_were_taken() -> None:
    """While one thread writes, the others queue; they are served first come, first served."""
    turns = WriteTurns(enabled=True)
    order: list[str] = []
    waiting = threading.Semaphore(0)

    def writer(name: str) -> None:
        waiting.release()
        with turns.turn():
            order.append(name)

    with turns.turn():
        threads = []
        for name in ("outbox", "listener", "intake"):
            thread = threading.Thread(target=writer, args=(name,))
            thread.start()
            threads.append(thread)
            assert waiting.acquire(timeout=5)
            while turns._next != len(threads) + 1:  # its ticket is taken before the next starts
                threading.Event().wait(0.001)
        assert order == []
    for thread in threads:
        thread.join(5)
    assert order == ["outbox", "listener", "intake"]


def test_a_thread_holding_a_turn_does_not_wait_for_itself() -> None:
    """A unit of work opened inside another on the same thread goes straight in."""
    turns = WriteTurns(enabled=True)
    with turns.turn(), turns.turn():
        entered = True
    assert entered
    with turns.turn():  # and the turn was handed on
        assert turns._serving == 1
