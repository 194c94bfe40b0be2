"""Fixtures of the persistence tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application.storage import Storage, open_storage
from ledger.settings import Settings, create_secrets


@pytest.fixture
def sqlite_storage(tmp_path: Path) -> Iterator[Storage]:
    """A fresh store of the embedded default (SQLite files in a temporary directory)."""
    create_secrets(tmp_path)
    opened = open_storage(Settings(data_dir=tmp_path, store="sqlite"))
    try:
        yield opened
    finally:
        opened.close()
