"""The in-process transport: following the event store's notification log in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.application import Application

from ledger.persistence.recent_notifications import RecentNotifications


@dataclass(frozen=True)
class StoredEvent:
    """A domain event with its global position in the store's notification log."""

    position: int
    event: Any


class Follower(Protocol):
    """What a consumer needs of a transport: the events after a position, in the store's order,
    and a way to say how far its own transaction has applied them."""

    def after(self, position: int) -> list[StoredEvent]: ...

    def exhausted(self, batch: list[StoredEvent]) -> bool:
        """Whether ``batch``, just returned by ``after``, left nothing more to read then."""
        ...

    def commit_through(self, position: int) -> None: ...


class NotificationFollower:
    """Reads the notification log of an application from a position onwards."""

    def __init__(
        self, application: Application[Any], batch_size: int = 500, until: int | None = None
    ) -> None:
        self._recorder = application.recorder
        self._mapper = application.mapper
        self.batch_size = batch_size
        self._until = until

    def after(self, position: int) -> list[StoredEvent]:
        """The next batch of events strictly after ``position``, in log order."""
        notifications = self._recorder.select_notifications(
            start=position, limit=self.batch_size, stop=self._until, inclusive_of_start=False
        )
        return [StoredEvent(n.id, self._mapper.to_domain_event(n)) for n in notifications]

    def exhausted(self, batch: list[StoredEvent]) -> bool:
        """A batch shorter than asked for ends the log as it stood when it was read."""
        return len(batch) < self.batch_size

    def commit_through(self, position: int) -> None:
        """Nothing to commit: the store itself is read, and each consumer keeps its position."""

    def head(self) -> int:
        """The position of the newest stored event (0 when empty)."""
        return self._recorder.max_notification_id() or 0


class RelayedFollower(NotificationFollower):
    """Follows what the process's Kafka relay read from the store (its recorder's window),
    in the store's order; where the window does not hold the position (a restart, a consumer
    far behind), the store is read."""

    def __init__(
        self, application: Application[Any], window: RecentNotifications, batch_size: int = 500
    ) -> None:
        super().__init__(application, batch_size)
        self._window = window

    def after(self, position: int) -> list[StoredEvent]:
        """The next batch after ``position``: the relay's read where the window holds it."""
        notifications = self._window.onwards(position, self.batch_size)
        if notifications is None:
            return super().after(position)
        return [StoredEvent(n.id, self._mapper.to_domain_event(n)) for n in notifications]
