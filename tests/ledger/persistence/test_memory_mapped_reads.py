"""Every SQLite store of the embedded default reads its file through a memory map, up to
SQLite's own limit: the event store (eventsourcing's connections, reading and writing), the
log with its anchors, the live read model and an auditor's scratch one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anchors.sqlite import SQLiteLogStore
from ledger.application.storage import Storage
from ledger.persistence.sqlite import SQLiteLedgerRecorder, SQLiteReadModel


def _mapped(cursor: Any) -> int:
    return int(cursor.execute("PRAGMA mmap_size").fetchone()[0])


def test_the_event_store_reads_through_a_memory_map(sqlite_storage: Storage) -> None:
    recorder = sqlite_storage.ledger.recorder
    assert isinstance(recorder, SQLiteLedgerRecorder)
    datastore = recorder.datastore
    for commit in (False, True):
        with datastore.transaction(commit=commit) as cursor:
            cursor.execute("PRAGMA mmap_size")
            assert cursor.fetchone()[0] > 2**30


def test_the_log_and_its_anchors_read_through_a_memory_map(sqlite_storage: Storage) -> None:
    store = sqlite_storage.log.store
    assert isinstance(store, SQLiteLogStore)
    with store._connections.cursor(write=False) as cursor:
        assert _mapped(cursor) > 2**30


def test_the_live_read_model_reads_through_a_memory_map(sqlite_storage: Storage) -> None:
    with sqlite_storage.read_model._cursor(write=False) as cursor:
        assert _mapped(cursor) > 2**30


def test_an_auditors_scratch_model_reads_through_a_memory_map(tmp_path: Path) -> None:
    scratch = SQLiteReadModel(tmp_path / "scratch.sqlite", durable=False, temporary=True)
    with scratch._cursor(write=True) as cursor:
        assert _mapped(cursor) > 2**30
