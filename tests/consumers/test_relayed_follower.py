"""The log beside the Kafka relay takes the events the relay has just read from the store (its
process's window of the log), in the store's order, without reading them again; where the
window does not hold its position (a restart, a log far behind), it reads the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from consumers.follower import NotificationFollower, RelayedFollower
from ledger.application.storage import Storage, open_storage
from ledger.persistence.recent_notifications import (
    RecentNotifications,
    remember_recent_notifications,
)
from ledger.settings import Settings
from tests.ledger.persistence.conftest import issue_to


@pytest.fixture
def storage(settings: Settings) -> Iterator[Storage]:
    opened = open_storage(settings)
    yield opened
    opened.close()


@pytest.fixture
def window(storage: Storage) -> RecentNotifications:
    made = remember_recent_notifications(storage.ledger)
    assert made is not None
    return made


def relay_reads(storage: Storage, after: int) -> None:
    """The relay's read: the log onwards from its position."""
    storage.ledger.recorder.select_notifications(start=after, limit=500, inclusive_of_start=False)


def store_reads(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The positions the store is asked to read after, from now on."""
    recorder = storage.ledger.recorder
    asked: list[int] = []
    reading = recorder.select_notifications

    def counted(start: Any, limit: int, *args: Any, **kwargs: Any) -> Any:
        asked.append(start)
        return reading(start, limit, *args, **kwargs)

    monkeypatch.setattr(recorder, "select_notifications", counted)
    return asked


def test_the_events_the_relay_read_are_taken_without_reading_the_store(
    storage: Storage, window: RecentNotifications, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_to(storage, [f"learner-{n}" for n in range(4)])
    relay_reads(storage, 0)
    expected = NotificationFollower(storage.ledger).after(2)
    asked = store_reads(storage, monkeypatch)
    found = RelayedFollower(storage.ledger, window).after(2)
    assert asked == []
    assert [(s.position, s.event.originator_id) for s in found] == [
        (s.position, s.event.originator_id) for s in expected
    ]
    assert [s.position for s in found] == [3, 4, 5]


def test_a_batch_is_no_longer_than_the_followers_batch_size(
    storage: Storage, window: RecentNotifications
) -> None:
    issue_to(storage, [f"learner-{n}" for n in range(4)])
    relay_reads(storage, 0)
    follower = RelayedFollower(storage.ledger, window, batch_size=2)
    assert [s.position for s in follower.after(0)] == [1, 2]
    assert not follower.exhausted(follower.after(0))


def test_the_log_goes_no_further_than_the_relay_has_read(
    storage: Storage, window: RecentNotifications, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_to(storage, ["learner-1"])
    relay_reads(storage, 0)
    issue_to(storage, ["learner-2"])
    asked = store_reads(storage, monkeypatch)
    follower = RelayedFollower(storage.ledger, window)
    assert follower.after(2) == []
    assert asked == []


def test_where_the_window_does_not_hold_the_position_the_store_is_read(
    storage: Storage, window: RecentNotifications, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_to(storage, [f"learner-{n}" for n in range(3)])
    asked = store_reads(storage, monkeypatch)
    found = RelayedFollower(storage.ledger, window).after(1)
    assert asked == [1]
    assert [s.position for s in found] == [2, 3, 4]
