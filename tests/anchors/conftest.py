"""What the log's tests share: a log on each kind of store."""

from __future__ import annotations

from pathlib import Path

import pytest

from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from anchors.sqlite import SQLiteLogStore


@pytest.fixture(params=["sqlite", "memory"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> TransparencyLog:
    """An empty log, on SQLite and in memory."""
    if request.param == "memory":
        return TransparencyLog(MemoryLogStore())
    return TransparencyLog(SQLiteLogStore(tmp_path / "log.sqlite"))
