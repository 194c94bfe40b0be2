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
def restored_root() -> Iterator[None]:
    """The root logger as it was before the test, its last writer stopped."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    logs.configure("text", "INFO")  # stops the test's last writer
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch, restored_root: None) -> Iterator[StalledSink]:
    sink = StalledSink()
    monkeypatch.setattr(sys, "stderr", sink)
    logs.configure("text", "INFO")
    yield sink
    sink.released.set()


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


def test_a_logger_waits_for_the_writer_once_the_hand_over_is_full(
    stalled: StalledSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", stalled)  # pytest's capture took it back for the test
    monkeypatch.setattr(logs, "HANDOVER_RECORDS", 3)
    logs.configure("text", "INFO")

    def log_five() -> None:
        for i in range(5):
            logging.getLogger("credledger.test").info("line %d", i)

    calls = threading.Thread(target=log_five)
    calls.start()
    calls.join(timeout=1)
    assert calls.is_alive(), "the logger went on past a full hand-over"
    stalled.released.set()
    calls.join(timeout=10)
    assert not calls.is_alive(), "the logger still waits after the writer took the lines"
    logs.configure("text", "INFO")
    assert [f"line {i}" in stalled.getvalue() for i in range(5)] == [True] * 5


def test_a_line_is_written_without_another_line_or_a_stop_to_push_it(
    capfd: pytest.CaptureFixture[str], restored_root: None
) -> None:
    logs.configure("text", "INFO")
    logging.getLogger("credledger.test").info("on its own")
    written = ""
    for _ in range(200):
        written += capfd.readouterr().err
        if "on its own" in written:
            break
        threading.Event().wait(0.05)
    assert "on its own" in written
