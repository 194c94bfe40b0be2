"""The stretch of the notification log a process read last, kept to be read again.

The process that keeps the transparency log reads each stored event twice: once to append it
(the relay, or the log's own follower) and again, moments later, to build its credential's
document (by range and topic). Notifications are immutable and the log's positions are
committed in order, so a contiguous read of the log answers any later range inside it exactly
as the store would.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Sequence
from typing import Any, cast

from eventsourcing.persistence import Notification

# Events kept at most (a few kB each): the documents are prepared at most a few thousand
# entries behind the newest read (see consumers.document_leaves.AHEAD_LIMIT).
DEFAULT_CAPACITY = 10_000


class RecentNotifications:
    """A window of consecutive notifications: every one after ``start`` up to ``end``."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._kept: list[Notification] = []
        # The window: every notification with start < id <= end is in _kept, in id order.
        self._start = 0
        self._end = 0
        self._lock = threading.Lock()
        self.answered = 0  # ranges answered from the window (what tests and diagnostics ask)

    def remember(self, after: int, notifications: Sequence[Notification]) -> None:
        """Keep ``notifications``, a complete read of the log after position ``after``. A
        read that starts inside the window and goes past it extends it; one that ends past
        it and does not start inside it replaces it; an older one leaves it (two followers in
        one process, one behind the other, do not take turns emptying it)."""
        if not notifications:
            return
        newest = notifications[-1].id
        with self._lock:
            if self._kept and newest <= self._end:
                return
            if self._kept and self._start <= after <= self._end:
                end = self._end
                self._kept.extend(n for n in notifications if n.id > end)
            else:
                self._kept = list(notifications)
                self._start = after
            self._end = newest
            dropped = len(self._kept) - self._capacity
            if dropped > 0:
                self._start = self._kept[dropped - 1].id
                del self._kept[:dropped]

    def between(self, first: int, last: int, topics: Sequence[str]) -> list[Notification] | None:
        """The notifications from ``first`` to ``last`` inclusive, of ``topics`` (any topic if
        empty), in order; None unless the window holds the whole range."""
        with self._lock:
            if not (self._start < first and last <= self._end):
                return None
            wanted = set(topics)
            # Ids grow along the window, with gaps where a transaction was rolled back.
            at = bisect.bisect_left(self._kept, first, key=_id)
            found: list[Notification] = []
            for notification in itertools.islice(self._kept, at, None):
                if notification.id > last:
                    break
                if not wanted or notification.topic in wanted:
                    found.append(notification)
            self.answered += 1
            return found

    def onwards(self, after: int, limit: int) -> list[Notification] | None:
        """Up to ``limit`` notifications after position ``after``, as the window holds them
        (none when ``after`` is its end); None unless the window holds ``after`` itself."""
        with self._lock:
            if not self._kept or not (self._start <= after <= self._end):
                return None
            at = bisect.bisect_right(self._kept, after, key=_id)
            self.answered += 1
            return self._kept[at : at + limit]


def _id(notification: Notification) -> int:
    return notification.id


class RemembersNotifications:
    """A recorder mixin: with a window set (``recent``), complete reads of the notification
    log are kept in it and range reads inside it answered from it."""

    recent: RecentNotifications | None = None

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        recent = self.recent
        first = None if start is None else start if inclusive_of_start else start + 1
        # Only a read the limit does not cut short can be answered from the window.
        whole = first is not None and stop is not None and limit >= stop - first + 1
        if recent is not None and whole:
            found = recent.between(cast(int, first), cast(int, stop), topics)
            if found is not None:
                return found
        selected: Sequence[Notification] = super().select_notifications(  # type: ignore[misc]
            start, limit, stop, topics, inclusive_of_start=inclusive_of_start
        )
        if recent is not None and first is not None and not topics:
            recent.remember(first - 1, selected)
        return selected


def remember_recent_notifications(
    application: Any, capacity: int = DEFAULT_CAPACITY
) -> RecentNotifications | None:
    """Give ``application``'s recorder a window of the log; the window (None: this recorder
    cannot keep one)."""
    recorder = application.recorder
    if not isinstance(recorder, RemembersNotifications):
        return None
    recorder.recent = RecentNotifications(capacity)
    return recorder.recent
