"""SIGTERM and SIGINT stop a process even when they arrive while it is setting its stop event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


# Where a consumers' process is when its parent dies: inside the event's own set (the pipe's end
# closed) as the parent-death signal arrives. A handler that set the event itself waited there
# for ever on the lock this thread holds, so the check runs in a process of its own that the
# test can kill, and a deadlock fails instead of hanging the run.
_SIGNAL_INSIDE_SET = """
import os, signal, sys, threading
from ledger.runtime.stop_signals import stop_on_signals
stop = threading.Event()
stop_on_signals(stop)
with stop._cond:
    os.kill(os.getpid(), signal.SIGTERM)
    stop._cond.wait(timeout=0.5)
sys.exit(0 if stop.wait(timeout=10) else 1)
"""


def test_a_signal_while_the_main_thread_holds_the_events_lock_still_stops() -> None:
    try:
        finished = subprocess.run([sys.executable, "-c", _SIGNAL_INSIDE_SET], timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the process deadlocked in its SIGTERM handler")
    assert finished.returncode == 0
