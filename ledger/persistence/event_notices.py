"""Announcements of new events in the store, for a follower in another process.

The Kafka relay publishes what API workers store; they run in processes of their own and
cannot wake it. Where the store announces every write (PostgreSQL: eventsourcing's recorder
sends a NOTIFY on its events channel in each insert's transaction), the relay waits for the
announcement instead of asking the store again and again.
"""

from __future__ import annotations

from typing import Protocol


class EventNotices(Protocol):
    """A listener to the store's announcements of new events."""

    def wait(self, timeout: float) -> None:
        """Return once events may have been stored since the last return: one was
        announced, listening has just (re)started (what was announced before is not heard),
        or ``timeout`` seconds passed. Raises what the backend raises when it cannot listen."""
        ...

    def close(self) -> None:
        """Stop listening (the next ``wait`` starts again)."""
        ...
