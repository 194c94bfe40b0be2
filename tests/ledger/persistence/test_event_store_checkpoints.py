"""The event store's write-ahead log is copied back in large steps (a credential's write
dirties pages at random keys), on every connection of its pool, whether it reads or writes,
set when the connection is made rather than by each write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application.storage import Storage, open_storage
from ledger.persistence.sqlite import EVENTS_CHECKPOINT_PAGES, SQLiteLedgerRecorder
from ledger.settings import Settings, create_secrets


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    create_secrets(tmp_path)
    opened = open_storage(Settings(data_dir=tmp_path, store="sqlite"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.parametrize("commit", [False, True], ids=["reading", "writing"])
def test_every_connection_copies_the_log_back_every_4000_pages(
    storage: Storage, commit: bool
) -> None:
    recorder = storage.ledger.recorder
    assert isinstance(recorder, SQLiteLedgerRecorder)
    with recorder.datastore.transaction(commit=commit) as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == EVENTS_CHECKPOINT_PAGES == 4_000
