"""The stretch of the notification log a process read last: a range read inside it is
answered from memory, exactly as the store answers it, and nothing else is."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import Notification

from ledger.application.storage import Storage, open_storage
from ledger.domain.aggregates import Credential
from ledger.persistence.recent_notifications import (
    RecentNotifications,
    remember_recent_notifications,
)
from ledger.persistence.stored_topics import topics_of
from ledger.settings import Settings
from tests.ledger.persistence.conftest import issue_to

ISSUED = tuple(topics_of(Credential.Issued))


def notification(position: int, topic: str = "t") -> Notification:
    return Notification(
        id=position,
        originator_id=uuid.uuid4(),
        originator_version=1,
        topic=topic,
        state=b"{}",
    )


def ids(found: list[Notification] | None) -> list[int] | None:
    return None if found is None else [n.id for n in found]


def test_a_range_inside_a_complete_read_is_answered_from_it() -> None:
    window = RecentNotifications()
    window.remember(10, [notification(p) for p in range(11, 21)])
    assert ids(window.between(12, 15, ())) == [12, 13, 14, 15]


def test_a_range_reaching_past_the_window_is_not_answered() -> None:
    window = RecentNotifications()
    window.remember(10, [notification(p) for p in range(11, 21)])
    assert window.between(15, 21, ()) is None
    assert window.between(10, 12, ()) is None


def test_positions_missing_from_the_log_are_missing_from_the_answer() -> None:
    # A rolled-back write leaves a gap in the positions; the read around it was complete.
    window = RecentNotifications()
    window.remember(0, [notification(p) for p in (1, 2, 4, 5)])
    assert ids(window.between(2, 4, ())) == [2, 4]
    assert ids(window.between(3, 3, ())) == []


def test_a_range_is_answered_for_the_topics_asked() -> None:
    window = RecentNotifications()
    window.remember(0, [notification(1, "a"), notification(2, "b"), notification(3, "a")])
    assert ids(window.between(1, 3, ("a",))) == [1, 3]


def test_a_read_starting_inside_the_window_extends_it() -> None:
    window = RecentNotifications()
    window.remember(0, [notification(p) for p in range(1, 6)])
    window.remember(3, [notification(p) for p in range(4, 9)])
    assert ids(window.between(1, 8, ())) == list(range(1, 9))


def test_an_older_read_leaves_the_window_as_it_was() -> None:
    window = RecentNotifications()
    window.remember(100, [notification(p) for p in range(101, 111)])
    window.remember(0, [notification(p) for p in range(1, 11)])
    assert window.between(1, 10, ()) is None
    assert ids(window.between(101, 110, ())) == list(range(101, 111))


def test_a_newer_read_after_a_gap_replaces_the_window() -> None:
    window = RecentNotifications()
    window.remember(0, [notification(p) for p in range(1, 11)])
    window.remember(50, [notification(p) for p in range(51, 61)])
    assert window.between(1, 10, ()) is None
    assert ids(window.between(51, 60, ())) == list(range(51, 61))


def test_the_window_keeps_only_its_capacity_of_the_newest() -> None:
    window = RecentNotifications(capacity=4)
    window.remember(0, [notification(p) for p in range(1, 11)])
    assert window.between(6, 10, ()) is None
    assert ids(window.between(7, 10, ())) == [7, 8, 9, 10]


def test_a_read_onwards_from_inside_the_window_is_answered_up_to_its_limit() -> None:
    window = RecentNotifications()
    window.remember(10, [notification(p) for p in range(11, 21)])
    assert ids(window.onwards(10, 3)) == [11, 12, 13]
    assert ids(window.onwards(17, 500)) == [18, 19, 20]


def test_a_read_onwards_from_the_windows_end_finds_nothing_newer() -> None:
    window = RecentNotifications()
    window.remember(10, [notification(p) for p in range(11, 21)])
    assert window.onwards(20, 500) == []


def test_a_read_onwards_from_outside_the_window_is_not_answered() -> None:
    window = RecentNotifications()
    assert window.onwards(0, 500) is None
    window.remember(10, [notification(p) for p in range(11, 21)])
    assert window.onwards(9, 500) is None
    assert window.onwards(21, 500) is None


def test_a_read_onwards_skips_the_gaps_the_log_has() -> None:
    window = RecentNotifications()
    window.remember(0, [notification(p) for p in (1, 2, 4, 5)])
    assert ids(window.onwards(2, 500)) == [4, 5]
    assert ids(window.onwards(3, 500)) == [4, 5]


@pytest.fixture
def two_openings(
    settings: Settings,
) -> Iterator[tuple[Storage, RecentNotifications, Storage]]:
    """The same store opened twice: one remembers what it reads (in the window given), the
    other does not."""
    remembering, plain = open_storage(settings), open_storage(settings)
    window = remember_recent_notifications(remembering.ledger)
    assert window is not None
    yield remembering, window, plain
    remembering.close()
    plain.close()


def test_the_recorder_answers_a_range_read_from_memory_as_the_store_does(
    two_openings: tuple[Storage, RecentNotifications, Storage],
) -> None:
    remembering, window, plain = two_openings
    issue_to(remembering, [f"learner-{n}" for n in range(12)])
    recorder = remembering.ledger.recorder
    recorder.select_notifications(start=0, limit=100, inclusive_of_start=False)
    expected = plain.ledger.recorder.select_notifications(start=3, limit=8, stop=10, topics=ISSUED)
    found = recorder.select_notifications(start=3, limit=8, stop=10, topics=ISSUED)
    assert window.answered == 1
    assert [(n.id, n.topic, n.state) for n in found] == [(n.id, n.topic, n.state) for n in expected]
    assert expected


def test_the_recorder_reads_the_store_for_a_range_it_has_not_read_whole(
    two_openings: tuple[Storage, RecentNotifications, Storage],
) -> None:
    remembering, window, _ = two_openings
    issue_to(remembering, [f"learner-{n}" for n in range(6)])
    recorder = remembering.ledger.recorder
    # Read with a topic, the log is not read whole: nothing is remembered.
    recorder.select_notifications(start=1, limit=100, topics=ISSUED)
    found = recorder.select_notifications(start=1, limit=10, stop=5)
    assert window.answered == 0
    assert [n.id for n in found] == [1, 2, 3, 4, 5]
