"""Log lines for operators: plain text by default, one JSON object a line when configured.

Every line written while a request is handled carries that request's id (``X-Request-Id``),
whichever thread writes it; lines about stored events name their positions, which the
anchoring lines name too, so a request can be followed to its event and its anchor. What is
logged is counts, positions, types and codes: never a learner's data, a request body or a
secret (messages are written so; ``tests/operations`` checks a whole run).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
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


def configure(log_format: LogFormat = "text", level: str = "INFO") -> None:
    """Send every logger's lines (uvicorn's too) to standard error in ``log_format``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else TextLines())
    handler.addFilter(_RequestIds())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
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
