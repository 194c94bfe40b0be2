"""SIGTERM and SIGINT stop a process even when they arrive while it is setting its stop event."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from ledger.runtime.stop_signals import stop_on_signals


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in kept.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sets_the_stop_event(restored_handlers: None, signum: int) -> None:
    stop = threading.Event()
    stop_on_signals(stop)
    os.kill(os.getpid(), signum)
    assert stop.wait(timeout=10)


def test_a_signal_while_the_main_thread_holds_the_events_lock_still_stops(
    restored_handlers: None,
) -> None:
    stop = threading.Event()
    stop_on_signals(stop)
    # Where a consumers' process is when its parent dies: inside the event's own set (the
    # pipe's end closed) as the parent-death signal arrives. A handler that set the event
    # itself waited here for ever on the lock this thread holds.
    with stop._cond:  # type: ignore[attr-defined]
        os.kill(os.getpid(), signal.SIGTERM)
        stop._cond.wait(timeout=0.5)  # type: ignore[attr-defined]
    assert stop.wait(timeout=10)
