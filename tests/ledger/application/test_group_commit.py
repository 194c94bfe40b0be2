"""Group commit: what concurrent requests submit at one moment is written together, and each
request still gets exactly its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.application.group_commit import GroupCommit
from tests.conftest import store_independent

# No store is involved: the SQLite pass runs these.
pytestmark = store_independent


class Recorder:
    """A write that doubles numbers, refuses negative ones, and remembers its groups; the
    first group can be held until the others have queued behind it."""

    def __init__(self, hold_first: threading.Event | None = None) -> None:
        self.groups: list[list[int]] = []
        self.started = threading.Event()
        self._hold_first = hold_first

    def write(self, items: Sequence[int]) -> list[int | BaseException]:
        self.groups.append(list(items))
        self.started.set()
        if self._hold_first is not None and len(self.groups) == 1:
            self._hold_first.wait(10)
        return [ValueError(f"refused {i}") if i < 0 else 2 * i for i in items]


def test_a_lone_item_is_written_at_once_in_a_group_of_its_own() -> None:
    recorder = Recorder()
    assert GroupCommit(recorder.write).submit(21) == 42
    assert recorder.groups == [[21]]


def behind_a_held_group(
    groups: GroupCommit[int, int], recorder: Recorder, release: threading.Event, items: list[int]
) -> tuple[int | BaseException, list[int | BaseException]]:
    """Submit 0 and hold its group; submit ``items`` while it is held, then let it go. The
    outcome of 0 and of each item (its result, or what it raised)."""

    def outcome(item: int) -> int | BaseException:
        try:
            return groups.submit(item)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(items) + 1) as pool:
        first = pool.submit(outcome, 0)
        assert recorder.started.wait(10)
        rest = [pool.submit(outcome, i) for i in items]
        while len(groups._queued) < len(items):  # all of them wait behind the held group
            threading.Event().wait(0.01)
        release.set()
        return first.result(), [f.result() for f in rest]


def test_items_submitted_while_a_group_is_written_go_together_in_the_next() -> None:
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    groups = GroupCommit(recorder.write)
    first, rest = behind_a_held_group(groups, recorder, release, [*range(1, 9)])
    assert (first, rest) == (0, [2 * i for i in range(1, 9)])
    assert recorder.groups[0] == [0]
    assert sorted(recorder.groups[1]) == list(range(1, 9))
    assert len(recorder.groups) == 2


def test_an_item_refused_raises_in_its_own_request_only() -> None:
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    _, (refused, accepted) = behind_a_held_group(
        GroupCommit(recorder.write), recorder, release, [-1, 7]
    )
    assert isinstance(refused, ValueError) and str(refused) == "refused -1"
    assert accepted == 14
    assert sorted(recorder.groups[1]) == [-1, 7]


def test_a_write_that_fails_as_a_whole_fails_every_item_of_its_group() -> None:
    def outage(items: Sequence[int]) -> list[int | BaseException]:
        raise ConnectionError("the database is down")

    with pytest.raises(ConnectionError, match="down"):
        GroupCommit(outage).submit(1)


def test_a_write_answering_too_few_outcomes_is_an_error_not_a_silent_success() -> None:
    def short(items: Sequence[int]) -> list[int | BaseException]:
        return []

    with pytest.raises(RuntimeError, match="number of outcomes"):
        GroupCommit(short).submit(1)


def test_groups_are_no_larger_than_the_limit() -> None:
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    groups = GroupCommit(recorder.write, most=3)
    first, rest = behind_a_held_group(groups, recorder, release, [*range(1, 8)])
    assert [first, *rest] == [2 * i for i in range(8)]
    assert max(len(g) for g in recorder.groups) == 3
    assert sorted(i for g in recorder.groups for i in g) == list(range(8))
