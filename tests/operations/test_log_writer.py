"""Log lines are written by a thread of their own: a logging call hands its record over and
returns, whatever the sink is doing; what was handed over is written before the process exits."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from ledger.operations import logs


class StalledSink(io.StringIO):
    """A standard error that takes nothing until it is released."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()

    def write(self, text: str) -> int:
        self.released.wait()
        return super().write(text)


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[StalledSink]:
    sink = StalledSink()
    monkeypatch.setattr(sys, "stderr", sink)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logs.configure("text", "INFO")
    yield sink
    sink.released.set()
    logs.configure("text", "INFO")  # stops the writer of the stalled sink
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_logging_call_returns_while_the_sink_takes_nothing(stalled: StalledSink) -> None:
    call = threading.Thread(target=logging.getLogger("credledger.test").info, args=("answered",))
    call.start()
    call.join(timeout=10)
    assert not call.is_alive(), "the logging call waited for the sink"
    assert stalled.getvalue() == ""


def test_a_line_says_what_its_arguments_were_when_it_was_logged(stalled: StalledSink) -> None:
    positions = [1, 2]
    logging.getLogger("credledger.test").info("positions %s", positions)
    positions.append(3)
    stalled.released.set()
    logs.configure("text", "INFO")  # writes what was handed over
    assert "positions [1, 2]\n" in stalled.getvalue()


def test_every_line_handed_over_is_written_before_the_process_exits() -> None:
    program = (
        "import logging\n"
        "from ledger.operations import logs\n"
        "logs.configure('json', 'INFO')\n"
        "for i in range(5000):\n"
        "    logging.getLogger('credledger.test').info('line %d', i)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, check=True)
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 5000
    assert '"message": "line 4999"' in lines[-1]


def test_configuring_again_writes_what_the_first_writer_held(
    stalled: StalledSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    logging.getLogger("credledger.test").info("before")
    stalled.released.set()
    monkeypatch.setattr(sys, "stderr", stalled)  # pytest's capture took it back for the test
    logs.configure("text", "INFO")
    logging.getLogger("credledger.test").info("after")
    logs.configure("text", "INFO")
    written = stalled.getvalue()
    assert "before\n" in written
    assert "after\n" in written
