"""The event store's write-ahead log is copied back by a thread of its own, beside the writers,
from the first write on; a commit copies it back only past a large backstop (a credential's
write dirties pages at random keys), set on every connection of the pool when it is made."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ledger.application.storage import Storage
from ledger.persistence.sqlite import (
    EVENTS_CHECKPOINT_PAGES,
    EventStoreConnectionPool,
    SQLiteLedgerRecorder,
)
from ledger.persistence.wal_checkpointer import BackgroundCheckpointer


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
    pool = EventStoreConnectionPool(db_name=str(tmp_path / "store.sqlite"))
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
        checkpointer.wrote(1)
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
    checkpointer.wrote(1)
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


def test_fewer_rows_written_than_the_threshold_leave_the_log_alone(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    writer = _file_with_a_log(path)
    checkpointer = BackgroundCheckpointer(path, interval=0.02, pending=10)
    try:
        for _ in range(9):
            writer.execute("INSERT INTO t VALUES (randomblob(10000))")
        checkpointer.wrote(9)
        size = path.stat().st_size
        time.sleep(0.3)  # a dozen looks
        assert path.stat().st_size == size
        writer.execute("INSERT INTO t VALUES (randomblob(10000))")
        checkpointer.wrote(1)
        deadline = time.monotonic() + 10
        while path.stat().st_size == size and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.stat().st_size > size
    finally:
        checkpointer.close()
        writer.close()


def test_the_pool_counts_the_rows_each_write_changed(tmp_path: Path) -> None:
    _file_with_a_log(tmp_path / "store.sqlite").close()
    pool = EventStoreConnectionPool(db_name=str(tmp_path / "store.sqlite"))
    counted: list[int] = []
    for rows in (3, 1, 5):
        connection = pool.get_connection(is_writer=True)
        assert pool._checkpointer is not None
        if not counted:
            pool._checkpointer.wrote = counted.append  # type: ignore[method-assign,assignment]
        with connection.transaction(commit=True) as cursor:
            cursor.executemany("INSERT INTO t VALUES (?)", [(b"x",)] * rows)
        pool.put_connection(connection)
    pool.close()
    assert counted == [3, 1, 5]


_TRUNCATE_FROM_ANOTHER_PROCESS = (
    "import sqlite3, sys; connection = sqlite3.connect(sys.argv[1], timeout=0); "
    "print(connection.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()[0])"
)


def test_a_reader_keeps_the_log_it_reads_while_the_checkpointer_works(tmp_path: Path) -> None:
    # A look at the log's index through a descriptor of its own would drop, when closed, every
    # lock the process holds on it: another process could then empty the log under a reader.
    path = tmp_path / "store.sqlite"
    writer = _file_with_a_log(path)
    for _ in range(50):
        writer.execute("INSERT INTO t VALUES (randomblob(2000))")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (50,)
    writer.execute("INSERT INTO t VALUES (randomblob(2000))")
    size = path.stat().st_size
    checkpointer = BackgroundCheckpointer(path, interval=0.02, pending=1)
    try:
        checkpointer.wrote(1)
        deadline = time.monotonic() + 10
        while path.stat().st_size == size and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.stat().st_size > size  # it copied back what the reader does not hold
        checkpointer.wrote(1)
        time.sleep(0.1)  # more looks
        busy = subprocess.run(
            [sys.executable, "-c", _TRUNCATE_FROM_ANOTHER_PROCESS, str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # The reader's snapshot is still held: the other process cannot reset the log.
        assert busy == "1"
        assert reader.execute("SELECT count(*) FROM t").fetchone() == (50,)
    finally:
        checkpointer.close()
        reader.close()
        writer.close()
