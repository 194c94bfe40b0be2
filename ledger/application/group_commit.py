"""Group commit: the writes that concurrent requests submit at one moment are decided and
stored together, in one transaction and one commit, while each request still gets its own
outcome.

No timer and no batch size to tune: while one group is being written, the requests that arrive
queue up, and the next of them to run writes everything queued. A lone request is written at
once, alone; under load the groups grow by themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Waiter(Generic[T, R]):
    __slots__ = ("done", "item", "outcome")

    def __init__(self, item: T) -> None:
        self.item = item
        self.outcome: R | BaseException | None = None
        self.done = False


class GroupCommit(Generic[T, R]):
    """Runs submitted items in groups through ``write``, which answers one outcome per item
    (a result, or the exception that item raises); an exception out of ``write`` itself (a
    database outage) is every item's outcome."""

    def __init__(
        self, write: Callable[[Sequence[T]], Sequence[R | BaseException]], most: int = 256
    ) -> None:
        self._write = write
        self._most = most
        self._queued: list[_Waiter[T, R]] = []
        self._queue = threading.Lock()
        self._writing = threading.Lock()

    def submit(self, item: T) -> R:
        """The outcome of ``item``, written in the group it joins; raises what it raised."""
        waiter: _Waiter[T, R] = _Waiter(item)
        with self._queue:
            self._queued.append(waiter)
        # Whoever holds the writing lock writes everything queued before it took its group;
        # a request whose item another one wrote meanwhile finds it done and leaves.
        while not waiter.done:
            with self._writing:
                if not waiter.done:
                    with self._queue:
                        group = self._queued[: self._most]
                        del self._queued[: self._most]
                    self._run(group)
        if isinstance(waiter.outcome, BaseException):
            raise waiter.outcome
        return waiter.outcome  # type: ignore[return-value]

    def _run(self, group: list[_Waiter[T, R]]) -> None:
        try:
            outcomes: Sequence[R | BaseException] = self._write([w.item for w in group])
            if len(outcomes) != len(group):
                raise RuntimeError("a group write answered another number of outcomes")
        except Exception as exc:
            outcomes = [exc] * len(group)
        for waiter, outcome in zip(group, outcomes, strict=True):
            waiter.outcome = outcome
            waiter.done = True
