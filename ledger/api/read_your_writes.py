"""Read-your-writes: a request that wrote waits until the read model shows the write.

Every waiting request of a process shares one poller of the read model's position, so the
database sees one query per interval however many requests wait (with PostgreSQL and several
workers, a poll per request was most of the database's work under load).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class PositionWatch:
    """Waits for a position to reach a target; one thread polls it while anyone waits."""

    def __init__(self, position: Callable[[], int], interval: float = 0.01) -> None:
        self._position = position
        self._interval = interval
        self._changed = threading.Condition()
        self._known = -1
        self._failure: Exception | None = None
        self._waiting = 0
        self._polling = False

    def wait(self, target: int, timeout: float) -> bool:
        """Whether the position reached ``target`` within ``timeout`` seconds. Re-raises what
        the poll raised (a database outage) rather than waiting it out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._waiting += 1
            try:
                if not self._polling:
                    self._polling = True
                    poller = threading.Thread(target=self._poll, name="read-your-writes")
                    poller.daemon = True
                    poller.start()
                    self._changed.wait(timeout)
                while self._failure is None and self._known < target:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(remaining)
                if self._failure is not None and self._known < target:
                    raise self._failure
                return True
            finally:
                self._waiting -= 1

    def _poll(self) -> None:
        fresh = True  # the waiter that started this poller waits for its first reading
        while True:
            try:
                position, failure = self._position(), None
            except Exception as exc:
                position, failure = self._known, exc
            with self._changed:
                if fresh or (position, failure) != (self._known, self._failure):
                    self._known, self._failure = position, failure
                    self._changed.notify_all()
                    fresh = False
                if self._waiting == 0:
                    self._polling = False
                    return
            time.sleep(self._interval)
