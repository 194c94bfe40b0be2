"""Read-your-writes: a request that wrote waits until the read model shows the write.

Where the projectors announce the positions they reach (PostgreSQL's NOTIFY), one thread of
the process listens, and waiting requests wake as soon as their position is announced. Where
they do not, or while the listener cannot listen, every waiting request of a process shares
one poller of the read model's position, so the database sees one query per interval however
many requests wait (with PostgreSQL and several workers, a poll per request was most of the
database's work under load).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ledger.persistence.read_model import PositionNotices

log = logging.getLogger("credledger.api")

# How long the listener waits for a notice before it waits again; and how long it pauses
# before listening again after its connection failed (the poller serves meanwhile).
_NOTICE_WAIT = 1.0
_RELISTEN_PAUSE = 1.0


class PositionWatch:
    """Waits for a position to reach a target: told by ``notices`` where there are any,
    otherwise by one thread that polls it while anyone waits."""

    def __init__(
        self,
        position: Callable[[], int],
        interval: float = 0.01,
        notices: PositionNotices | None = None,
    ) -> None:
        self._position = position
        self._interval = interval
        self._notices = notices
        self._changed = threading.Condition()
        self._known = -1
        self._failure: Exception | None = None
        self._waiting = 0
        self._polling = False
        self._listening = False
        self._listener: threading.Thread | None = None
        self._closed = False

    def wait(self, target: int, timeout: float) -> bool:
        """Whether the position reached ``target`` within ``timeout`` seconds. Re-raises what
        the poll raised (a database outage) rather than waiting it out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._notices is not None and self._listener is None and not self._closed:
                self._listener = threading.Thread(
                    target=self._listen, name="read-your-writes-listener", daemon=True
                )
                self._listener.start()
            self._waiting += 1
            try:
                while self._failure is None and self._known < target:
                    if not self._listening and not self._polling:
                        self._polling = True
                        poller = threading.Thread(target=self._poll, name="read-your-writes")
                        poller.daemon = True
                        poller.start()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(remaining)
                if self._failure is not None and self._known < target:
                    raise self._failure
                return True
            finally:
                self._waiting -= 1

    def close(self) -> None:
        """Stop listening (waiting requests fall back to polling)."""
        with self._changed:
            self._closed = True

    def _learn(self, position: int, failure: Exception | None = None) -> None:
        """Record a reading (or why there is none) and wake the waiters; holds the lock."""
        if failure is None:
            changed = position > self._known or self._failure is not None
            self._known, self._failure = max(self._known, position), None
        else:
            changed = self._failure is None
            self._failure = failure
        if changed:
            self._changed.notify_all()

    def _poll(self) -> None:
        while True:
            try:
                position, failure = self._position(), None
            except Exception as exc:
                position, failure = self._known, exc
            with self._changed:
                self._learn(position, failure)
                if self._waiting == 0 or (self._listening and failure is None):
                    self._polling = False
                    return
            time.sleep(self._interval)

    def _listen(self) -> None:
        """Listen for ever: read the position once each time listening (re)starts, as what
        was announced before is not heard; then take each announced position."""
        assert self._notices is not None
        while not self._closed:
            try:
                announced = self._notices.receive(0.0 if not self._listening else _NOTICE_WAIT)
                if not self._listening:
                    announced.append(self._position())
                with self._changed:
                    self._listening = True
                    for position in announced:
                        self._learn(position)
            except Exception as exc:
                with self._changed:
                    if self._listening:
                        log.warning("read-your-writes: not listening (%s); polling", exc)
                    self._listening = False
                    self._changed.notify_all()  # a waiter starts the poller
                self._notices.close()
                time.sleep(_RELISTEN_PAUSE)
        with self._changed:
            self._listening = False
            self._changed.notify_all()
        self._notices.close()
