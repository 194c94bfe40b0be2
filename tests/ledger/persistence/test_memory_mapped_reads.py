"""Every SQLite store of the embedded default reads its file through a memory map, up to
SQLite's own limit: the event store (eventsourcing's connections, reading and writing), the
log with its anchors, the live read model and an auditor's scratch one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anchors.sqlite import SQLiteLogStore
from ledger.application.storage import Storage, open_storage
from ledger.persistence.sqlite import SQLiteLedgerRecorder, SQLiteReadModel
from ledger.settings import Settings, create_secrets


def _mapped(cursor: Any) -> int:
    return int(cursor.execute("PRAGMA mmap_size").fetchone()[0])


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    create_secrets(tmp_path)
    opened = open_storage(Settings(data_dir=tmp_path, store="sqlite"))
    try:
        yield opened
    finally:
        opened.close()


def test_the_event_store_reads_through_a_memory_map(storage: Storage) -> None:
    recorder = storage.ledger.recorder
    assert isinstance(recorder, SQLiteLedgerRecorder)
    datastore = recorder.datastore
    for commit in (False, True):
        with datastore.transaction(commit=commit) as cursor:
            cursor.execute("PRAGMA mmap_size")
            assert cursor.fetchone()[0] > 2**30


def test_the_log_and_its_anchors_read_through_a_memory_map(storage: Storage) -> None:
    store = storage.log.store
    assert isinstance(store, SQLiteLogStore)
    with store._connections.cursor(write=False) as cursor:
        assert _mapped(cursor) > 2**30


def test_the_live_read_model_reads_through_a_memory_map(storage: Storage) -> None:
    with storage.read_model._cursor(write=False) as cursor:
        assert _mapped(cursor) > 2**30


def test_an_auditors_scratch_model_reads_through_a_memory_map(tmp_path: Path) -> None:
    scratch = SQLiteReadModel(tmp_path / "scratch.sqlite", durable=False, temporary=True)
    with scratch._cursor(write=True) as cursor:
        assert _mapped(cursor) > 2**30
