"""Read-your-writes: requests wait for the read model's position, told by the projectors'
announcements where the store makes them, else through one shared poller."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import Callable

import pytest

from ledger.api.read_your_writes import PositionWatch
from ledger.persistence.read_model import ReadModel
from ledger.runtime.consumer_process import PositionPipe
from tests.conftest import STORE


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


class Notices:
    """Announced positions, as a store's listener hears them; or a listener that cannot."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.heard: queue.Queue[int] = queue.Queue()
        self.failure = failure

    def receive(self, timeout: float) -> list[int]:
        if self.failure is not None:
            raise self.failure
        try:
            return [self.heard.get(timeout=timeout)]
        except queue.Empty:
            return []

    def close(self) -> None:
        pass


def test_an_announced_position_wakes_the_waiting_request_without_polling() -> None:
    position, notices = Position(), Notices()
    watch = PositionWatch(position, interval=60, notices=notices)
    threading.Timer(0.2, lambda: notices.heard.put(7)).start()
    assert watch.wait(7, timeout=10)
    # Read once when the listener started, perhaps once by a poller before it listened.
    assert position.reads <= 2
    watch.close()


def test_while_nothing_can_be_heard_the_position_is_polled() -> None:
    position = Position()
    watch = PositionWatch(position, interval=0.001, notices=Notices(ConnectionError("down")))
    threading.Timer(0.05, lambda: setattr(position, "value", 3)).start()
    assert watch.wait(3, timeout=10)
    watch.close()


def awaited(watch: PositionWatch, target: int, timeout: float) -> bool:
    """Whether ``target`` was reached within ``timeout``, awaited by an event loop's task."""
    return asyncio.run(watch.reached(target, timeout))


def test_a_task_of_the_event_loop_waits_until_the_position_reaches_its_write() -> None:
    position = Position()
    watch = PositionWatch(position, interval=0.001)
    threading.Timer(0.05, lambda: setattr(position, "value", 7)).start()
    assert awaited(watch, 7, timeout=10)


def test_a_task_gives_up_when_the_position_does_not_come() -> None:
    assert not awaited(PositionWatch(Position(), interval=0.001), 1, timeout=0.05)


def test_an_outage_of_the_read_model_is_raised_to_a_waiting_task() -> None:
    position = Position()
    position.failure = ConnectionError("the database is down")
    with pytest.raises(ConnectionError):
        awaited(PositionWatch(position, interval=0.001), 1, timeout=10)


def test_an_announced_position_wakes_a_waiting_task_without_a_thread_or_a_poll() -> None:
    position, notices = Position(), Notices()
    watch = PositionWatch(position, interval=60, notices=notices)
    threading.Timer(0.2, lambda: notices.heard.put(7)).start()
    threads = threading.active_count()
    assert awaited(watch, 7, timeout=10)
    # The listener (started by the first wait), and no thread a waiter held.
    assert threading.active_count() <= threads + 1
    assert position.reads <= 2
    watch.close()


def test_a_task_waiting_when_the_listener_fails_is_told_by_the_poller() -> None:
    position = Position()
    watch = PositionWatch(position, interval=0.001, notices=Notices(ConnectionError("down")))
    threading.Timer(0.05, lambda: setattr(position, "value", 3)).start()
    assert awaited(watch, 3, timeout=10)
    watch.close()


@pytest.mark.skipif(STORE != "postgres", reason="PostgreSQL announces positions (NOTIFY)")
def test_a_projector_in_another_process_announces_the_position_it_committed(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    listening = fresh_read_model("one-database")
    projecting = fresh_read_model("one-database")  # the same database, as another process has it
    watch = PositionWatch(listening.position, interval=60, notices=listening.notices())
    assert watch.wait(0, timeout=10)  # listening from here on

    def project() -> None:
        with projecting.transaction(0, 5):
            pass

    threading.Timer(0.2, project).start()
    assert watch.wait(5, timeout=10)
    watch.close()


async def _watched_pipe(
    position: Position, interval: float
) -> tuple[PositionWatch, PositionPipe, int]:
    """A watch whose notices come down a pipe the running event loop watches; and the pipe's
    end an announcing process would write to."""
    pipe = PositionPipe()
    announcer = pipe.open()
    watch = PositionWatch(position, interval=interval, notices=pipe)
    assert watch.watch_on(asyncio.get_running_loop())
    return watch, pipe, announcer


def test_a_pipe_the_event_loop_watches_wakes_a_waiting_task_with_no_thread_of_its_own() -> None:
    position = Position()

    async def scenario() -> bool:
        watch, pipe, announcer = await _watched_pipe(position, interval=60)
        threads = set(threading.enumerate())
        asyncio.get_running_loop().call_later(0.1, os.write, announcer, b"7\n")
        reached = await watch.reached(7, timeout=10)
        assert set(threading.enumerate()) <= threads  # no listener, no poller started
        os.close(announcer)
        pipe.shut()
        return reached

    assert asyncio.run(scenario())
    assert position.reads == 1  # once, when the loop began to watch


def test_when_the_announcing_process_is_gone_a_waiting_task_is_told_by_polling() -> None:
    position = Position()

    async def scenario() -> bool:
        watch, pipe, announcer = await _watched_pipe(position, interval=0.001)
        os.close(announcer)  # the read-model process ended
        asyncio.get_running_loop().call_later(0.1, setattr, position, "value", 3)
        reached = await watch.reached(3, timeout=10)
        pipe.shut()
        return reached

    assert asyncio.run(scenario())


def test_the_pipe_of_a_restarted_process_is_handed_to_the_watching_loop() -> None:
    position = Position()

    async def scenario() -> bool:
        watch, pipe, announcer = await _watched_pipe(position, interval=60)
        os.close(announcer)
        restarted: list[int] = []
        # The supervisor's thread opens the new pipe, as it does when it starts the process.
        opening = threading.Thread(target=lambda: restarted.append(pipe.open()))
        opening.start()
        opening.join()
        os.write(restarted[0], b"9\n")  # only the pipe tells 9: the read model stays at 0
        reached = await watch.reached(9, timeout=10)
        os.close(restarted[0])
        pipe.shut()
        return reached

    assert asyncio.run(scenario())
