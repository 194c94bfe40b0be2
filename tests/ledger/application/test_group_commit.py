"""Group commit: what concurrent requests submit at one moment is written together, and each
request still gets exactly its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.application.group_commit import GroupCommit
from tests.conftest import STORE

# No store is involved: the SQLite pass runs these.
pytestmark = pytest.mark.skipif(STORE != "sqlite", reason="does not depend on the store")


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


def test_items_submitted_while_a_group_is_written_go_together_in_the_next() -> None:
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    groups = GroupCommit(recorder.write)
    with ThreadPoolExecutor(9) as pool:
        first = pool.submit(groups.submit, 0)
        assert recorder.started.wait(10)
        rest = [pool.submit(groups.submit, i) for i in range(1, 9)]
        while len(groups._queued) < 8:  # every other request is waiting behind the first
            threading.Event().wait(0.01)
        release.set()
        assert first.result() == 0
        assert [f.result() for f in rest] == [2 * i for i in range(1, 9)]
    assert recorder.groups[0] == [0]
    assert sorted(recorder.groups[1]) == list(range(1, 9))
    assert len(recorder.groups) == 2


def test_an_item_refused_raises_in_its_own_request_only() -> None:
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    groups = GroupCommit(recorder.write)
    with ThreadPoolExecutor(3) as pool:
        held = pool.submit(groups.submit, 5)
        assert recorder.started.wait(10)
        refused = pool.submit(groups.submit, -1)
        accepted = pool.submit(groups.submit, 7)
        while len(groups._queued) < 2:
            threading.Event().wait(0.01)
        release.set()
        assert held.result() == 10
        assert accepted.result() == 14
        with pytest.raises(ValueError, match="refused -1"):
            refused.result()
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
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(groups.submit, 0)
        assert recorder.started.wait(10)
        rest = [pool.submit(groups.submit, i) for i in range(1, 8)]
        while len(groups._queued) < 7:
            threading.Event().wait(0.01)
        release.set()
        assert [f.result() for f in [first, *rest]] == [2 * i for i in range(8)]
    assert max(len(g) for g in recorder.groups) == 3
    assert sorted(i for g in recorder.groups for i in g) == list(range(8))
