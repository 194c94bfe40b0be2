"""The event store's write-ahead log is copied back by a thread of its own, beside the writers,
from the first write on; a commit copies it back only past a large backstop (a credential's
write dirties pages at random keys), set on every connection of the pool when it is made."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from ledger.application.storage import Storage
from ledger.persistence.sqlite import (
    EVENTS_CHECKPOINT_PAGES,
    MappedConnectionPool,
    SQLiteLedgerRecorder,
)
from ledger.persistence.wal_checkpointer import BackgroundCheckpointer, pending_pages


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "wal-checkpointer"]


def _recorder(storage: Storage) -> SQLiteLedgerRecorder:
    recorder = storage.ledger.recorder
    assert isinstance(recorder, SQLiteLedgerRecorder)
    return recorder


@pytest.mark.parametrize("commit", [False, True], ids=["reading", "writing"])
def test_every_connection_copies_the_log_back_only_past_16000_pages(
    sqlite_storage: Storage, commit: bool
) -> None:
    with _recorder(sqlite_storage).datastore.transaction(commit=commit) as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == EVENTS_CHECKPOINT_PAGES == 16_000


def test_the_first_write_starts_the_checkpointer_and_closing_stops_it(tmp_path: Path) -> None:
    _file_with_a_log(tmp_path / "store.sqlite").close()
    pool = MappedConnectionPool(db_name=str(tmp_path / "store.sqlite"))
    before = len(_checkpointers())
    pool.put_connection(pool.get_connection(is_writer=False))
    assert len(_checkpointers()) == before
    pool.put_connection(pool.get_connection(is_writer=True))
    assert len(_checkpointers()) == before + 1
    pool.put_connection(pool.get_connection(is_writer=True))
    assert len(_checkpointers()) == before + 1
    pool.close()
    assert len(_checkpointers()) == before


def _file_with_a_log(path: Path) -> sqlite3.Connection:
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the writer never copies the log back
    writer.execute("CREATE TABLE t (x BLOB)")
    return writer


def test_the_log_is_copied_back_by_the_thread_not_by_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    writer = _file_with_a_log(path)
    written_before = path.stat().st_size
    checkpointer = BackgroundCheckpointer(path, interval=0.02, pending=1)
    try:
        writer.execute("INSERT INTO t VALUES (randomblob(200000))")
        deadline = time.monotonic() + 10
        while path.stat().st_size <= written_before + 200_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        # The file itself grew by the row: only a checkpoint writes it in WAL mode.
        assert path.stat().st_size > written_before + 200_000
    finally:
        checkpointer.close()
        writer.close()


def test_a_closed_checkpointer_copies_nothing_more(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    writer = _file_with_a_log(path)
    checkpointer = BackgroundCheckpointer(path, interval=0.02, pending=1)
    checkpointer.close()
    assert not checkpointer.running
    size = path.stat().st_size
    writer.execute("INSERT INTO t VALUES (randomblob(200000))")
    time.sleep(0.2)
    assert path.stat().st_size == size
    writer.close()


def test_a_read_does_not_wait_behind_a_writer_waiting_for_the_write_lock(
    sqlite_storage: Storage,
) -> None:
    datastore = _recorder(sqlite_storage).datastore
    first_writer_in = threading.Event()
    release_first = threading.Event()
    second_writer_done = threading.Event()

    def first() -> None:
        with datastore.transaction(commit=True) as cursor:
            cursor.execute("DELETE FROM spent_reads WHERE expires < 0")
            first_writer_in.set()
            release_first.wait(10)

    def second() -> None:
        with datastore.transaction(commit=True) as cursor:
            cursor.execute("DELETE FROM spent_reads WHERE expires < 0")
        second_writer_done.set()

    holder = threading.Thread(target=first)
    holder.start()
    assert first_writer_in.wait(10)
    waiter = threading.Thread(target=second)
    waiter.start()
    time.sleep(0.1)  # the second writer is now waiting for the write lock
    read_done = threading.Event()

    def read() -> None:
        with datastore.transaction(commit=False) as cursor:
            cursor.execute("SELECT count(*) FROM stored_events")
            cursor.fetchone()
        read_done.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        # Answered while both writers are still at it (the first holds the write lock until
        # it is released below): the read queued behind neither.
        assert read_done.wait(10)
        assert not second_writer_done.is_set()
    finally:
        release_first.set()
        for thread in (holder, waiter, reader):
            thread.join(10)
    assert second_writer_done.is_set()


def test_the_pages_waiting_to_be_copied_back_are_read_from_the_logs_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite"
    writer = _file_with_a_log(path)
    index = tmp_path / "store.sqlite-shm"
    before = pending_pages(index)
    assert before is not None
    writer.execute("INSERT INTO t VALUES (randomblob(100000))")
    after = pending_pages(index)
    assert after is not None and after >= before + 100_000 // 4096
    frames, copied = writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1:]
    assert frames == copied
    assert pending_pages(index) == 0
    writer.close()


def test_a_log_with_fewer_pages_waiting_than_the_threshold_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    writer = _file_with_a_log(path)
    checkpointer = BackgroundCheckpointer(path, interval=0.02, pending=1_000)
    try:
        writer.execute("INSERT INTO t VALUES (randomblob(100000))")
        waiting = pending_pages(tmp_path / "store.sqlite-shm")
        time.sleep(0.3)  # a dozen looks
        assert pending_pages(tmp_path / "store.sqlite-shm") == waiting
    finally:
        checkpointer.close()
        writer.close()


def test_an_unreadable_index_counts_as_unknown(tmp_path: Path) -> None:
    assert pending_pages(tmp_path / "missing.sqlite-shm") is None
    (tmp_path / "short.sqlite-shm").write_bytes(b"\0" * 10)
    assert pending_pages(tmp_path / "short.sqlite-shm") is None
