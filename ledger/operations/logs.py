"""Log lines for operators: plain text by default, one JSON object a line when configured.

Every line written while a request is handled carries that request's id (``X-Request-Id``),
whichever thread writes it; lines about stored events name their positions, which the
anchoring lines name too, so a request can be followed to its event and its anchor. What is
logged is counts, positions, types and codes: never a learner's data, a request body or a
secret (messages are written so; ``tests/operations`` checks a whole run).

Lines are formatted and written by a thread of their own: a request's thread only hands its
record over, so a slow sink (a full pipe, a stalled journal) holds no request and the event
loop does not format timestamps. The writer comes round every twentieth of a second, so a line
reaches standard error that long after it was logged at most (unless the sink is slow). The
hand-over is bounded: when the writer falls that far behind, loggers wait for it rather than
drop lines or grow without bound. What is handed over is written before the process exits
normally.
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import secrets
import sys
import threading
from collections import deque
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

request_id: ContextVar[str | None] = ContextVar("credledger_request_id", default=None)

# What a client may send as its own request id: short, and safe to write into a log line.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(offered: str | None) -> str:
    """The client's id if it is a plain token, else a fresh random one."""
    if offered is not None and _CLIENT_REQUEST_ID.match(offered):
        return offered
    return secrets.token_hex(8)


class _RequestIds(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, and the fields a
    call passes as ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({k: v for k, v in fields.items() if k not in line})
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback's locals and messages may quote request data.
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


class TextLines(logging.Formatter):
    """Time, logger and message, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{text} [request {rid}]" if rid else text


HANDOVER_RECORDS = 10_000
"""Records waiting for the writer thread before loggers wait for it."""

WRITE_INTERVAL = 0.05
"""Seconds the writer thread sleeps between its rounds of writing what was handed over."""


class _Handover(logging.Handler):
    """Hands each record to the writer thread, its message already merged with its arguments
    (an argument changed after the call cannot change the line) and its request id taken in
    the logging thread (the id is a context variable).

    A hand-over is an append, and wakes nobody: waking the writer for every line cost a
    request more than formatting and writing it (two thread switches under the interpreter's
    lock). The writer comes round every ``WRITE_INTERVAL`` instead; a logger wakes it only when
    ``capacity`` records wait, and then waits for it, so a stalled sink holds loggers rather
    than growing the hand-over without bound.
    """

    def __init__(self, sink: logging.Handler, capacity: int) -> None:
        super().__init__()
        self.sink = sink
        self.capacity = capacity
        self.waiting: deque[logging.LogRecord] = deque()
        self.room = threading.Condition()
        self.wake = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(
            target=self._write, name="credledger-log-writer", daemon=True
        )
        self.thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        record.msg = record.getMessage()
        record.args = None
        self.waiting.append(record)
        if len(self.waiting) >= self.capacity:
            with self.room:
                while len(self.waiting) >= self.capacity and self.thread.is_alive():
                    self.wake.set()
                    self.room.wait(WRITE_INTERVAL)

    def _write(self) -> None:
        while True:
            self.wake.wait(WRITE_INTERVAL)
            self.wake.clear()
            stopping = self.stopping
            while self.waiting:
                self.sink.handle(self.waiting.popleft())
            with self.room:
                self.room.notify_all()
            if stopping:
                return

    def stop(self) -> None:
        """Write what was handed over, and stop the writer thread."""
        self.stopping = True
        self.wake.set()
        self.thread.join()


_handover: _Handover | None = None


def _stop_writer() -> None:
    """Write what was handed over, and stop the writer thread."""
    global _handover
    if _handover is not None:
        _handover.stop()
        _handover = None


def configure(log_format: LogFormat = "text", level: str = "INFO") -> None:
    """Send every logger's lines (uvicorn's too) to standard error in ``log_format``, written
    by a thread of their own."""
    global _handover
    previous = _handover
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(JsonLines() if log_format == "json" else TextLines())
    handler = _Handover(stream, HANDOVER_RECORDS)
    handler.addFilter(_RequestIds())
    _handover = handler
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    if previous is not None:
        # Once no logger hands it more: what it holds is written, none is lost.
        previous.stop()
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        named = logging.getLogger(name)
        named.handlers = []
        named.propagate = True
    # Each request's line is the ledger's own (with its request id and duration); uvicorn's
    # access line would repeat it, and API workers configure logging after uvicorn has.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False


atexit.register(_stop_writer)
