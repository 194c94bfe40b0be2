"""The event store's write-ahead log is copied back in large steps (a credential's write
dirties pages at random keys), on every connection of its pool, whether it reads or writes,
set when the connection is made rather than by each write."""

from __future__ import annotations

import pytest

from ledger.application.storage import Storage
from ledger.persistence.sqlite import EVENTS_CHECKPOINT_PAGES, SQLiteLedgerRecorder


@pytest.mark.parametrize("commit", [False, True], ids=["reading", "writing"])
def test_every_connection_copies_the_log_back_every_4000_pages(
    sqlite_storage: Storage, commit: bool
) -> None:
    recorder = sqlite_storage.ledger.recorder
    assert isinstance(recorder, SQLiteLedgerRecorder)
    with recorder.datastore.transaction(commit=commit) as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == EVENTS_CHECKPOINT_PAGES == 4_000
