"""The events a process decoded last, kept for the next consumer in it to read them.

The log consumer decodes every stored event; moments later the anchoring side builds each new
credential version's document from the same events. Decoding one (two kB of JSON, then the
domain event) cost that second consumer as much as the first: it now finds them here, and reads
the store only for what has fallen out (a consumer far behind, or a restart).
"""

from __future__ import annotations

from collections import deque
from typing import Any

# About two seconds of issuing at full speed: the anchoring side prepares documents within
# half a second of the log consumer appending their entries. A few MB of events.
KEPT = 4_096


class RecentEvents:
    """Domain events by store position, the latest ``kept`` of them.

    One thread adds (the log consumer's follower), others read: a lookup sees an event or
    None, and the events are never changed once decoded.
    """

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._events: dict[int, Any] = {}
        self._order: deque[int] = deque()

    def add(self, position: int, event: Any) -> None:
        if position in self._events:
            return
        self._events[position] = event
        self._order.append(position)
        while len(self._order) > self._kept:
            self._events.pop(self._order.popleft(), None)

    def get(self, position: int) -> Any | None:
        """The event at ``position`` if it is still kept."""
        return self._events.get(position)

    def __len__(self) -> int:
        return len(self._events)
