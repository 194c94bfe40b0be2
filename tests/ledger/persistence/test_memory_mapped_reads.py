"""The embedded default's SQLite stores are read through a map of their first pages while the
ledger runs, and through a map of their whole files in a process that reads stores nothing else
is writing (an audit, a rebuild): SQLite drops a connection's whole map each time it begins a
read after another connection's commit, so among live writers a large map is torn down and
faulted in again all the time, while a long read of a quiet file is served from the system's
cache without a copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchors.sqlite import (
    LIVE_MAPPED_BYTES,
    SQLiteLogStore,
    mapped_bytes,
    read_through_map,
)
from ledger.application.storage import Storage, open_storage
from ledger.cli.main import cli
from ledger.persistence.sqlite import SQLiteLedgerRecorder, SQLiteReadModel
from ledger.settings import Settings, create_secrets


@pytest.fixture(autouse=True)
def live_process() -> Iterator[None]:
    """Each test starts as a ledger's process starts (mapping the start of each file), and
    leaves it so."""
    read_through_map(False)
    yield
    read_through_map(False)


def _mapped(cursor: Any) -> int:
    return int(cursor.execute("PRAGMA mmap_size").fetchone()[0])


def _event_store_mapping(storage: Storage) -> int:
    recorder = storage.ledger.recorder
    assert isinstance(recorder, SQLiteLedgerRecorder)
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA mmap_size")
        return int(cursor.fetchone()[0])


def _log_mapping(storage: Storage) -> int:
    store = storage.log.store
    assert isinstance(store, SQLiteLogStore)
    with store._connections.cursor(write=False) as cursor:
        return _mapped(cursor)


def _read_model_mapping(storage: Storage) -> int:
    with storage.read_model._cursor(write=False) as cursor:
        return _mapped(cursor)


def test_a_running_ledgers_event_store_maps_the_start_of_its_file(sqlite_storage: Storage) -> None:
    assert _event_store_mapping(sqlite_storage) == LIVE_MAPPED_BYTES


def test_a_running_ledgers_log_maps_the_start_of_its_file(sqlite_storage: Storage) -> None:
    assert _log_mapping(sqlite_storage) == LIVE_MAPPED_BYTES


def test_a_running_ledgers_read_model_maps_the_start_of_its_file(sqlite_storage: Storage) -> None:
    assert _read_model_mapping(sqlite_storage) == LIVE_MAPPED_BYTES


def test_a_process_reading_whole_files_maps_every_store_it_opens_whole(tmp_path: Path) -> None:
    read_through_map()
    create_secrets(tmp_path)
    storage = open_storage(Settings(data_dir=tmp_path, store="sqlite"))
    try:
        mappings = [
            _event_store_mapping(storage),
            _log_mapping(storage),
            _read_model_mapping(storage),
        ]
    finally:
        storage.close()
    assert all(mapping > 2**30 for mapping in mappings), mappings


def test_an_auditors_scratch_model_reads_through_the_map_of_its_process(tmp_path: Path) -> None:
    read_through_map()
    scratch = SQLiteReadModel(tmp_path / "scratch.sqlite", durable=False, temporary=True)
    with scratch._cursor(write=True) as cursor:
        assert _mapped(cursor) > 2**30


def test_the_audit_command_reads_whole_files_through_a_map(tmp_path: Path) -> None:
    create_secrets(tmp_path)
    open_storage(Settings(data_dir=tmp_path, store="sqlite")).close()
    result = CliRunner().invoke(cli, ["audit", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code in (0, 3), result.output
    assert mapped_bytes() > 2**30
