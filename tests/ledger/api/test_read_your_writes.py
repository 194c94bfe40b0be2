"""Read-your-writes: requests wait for the read model's position through one shared poller."""

from __future__ import annotations

import threading
import time

import pytest

from ledger.api.read_your_writes import PositionWatch


class Position:
    """A read model's position that moves when told, counting how often it is read."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0
        self.failure: Exception | None = None

    def __call__(self) -> int:
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        return self.value


def test_a_request_waits_until_the_position_reaches_its_write() -> None:
    position = Position()
    watch = PositionWatch(position, interval=0.001)
    threading.Timer(0.05, lambda: setattr(position, "value", 7)).start()
    assert watch.wait(7, timeout=10)


def test_a_request_gives_up_when_the_position_does_not_come() -> None:
    position = Position()
    assert not PositionWatch(position, interval=0.001).wait(1, timeout=0.05)


def test_waiting_requests_share_one_poller() -> None:
    position = Position()
    watch = PositionWatch(position, interval=0.01)
    waiters = [threading.Thread(target=watch.wait, args=(1, 10)) for _ in range(20)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.3)
    position.value = 1
    for waiter in waiters:
        waiter.join()
    # About 30 polls at one every 10 ms; a poll per waiting request would make some 600.
    assert position.reads < 100


def test_an_outage_of_the_read_model_is_raised_not_waited_out() -> None:
    position = Position()
    position.failure = ConnectionError("the database is down")
    with pytest.raises(ConnectionError):
        PositionWatch(position, interval=0.001).wait(1, timeout=10)
