"""The SQLite store of the transparency log and its anchors."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anchors.sql_store import SQLAnchorStore, SQLLogStore

_SCHEMA = (
    # Positions grow with indexes, so they need no index of their own (see index_of).
    "CREATE TABLE IF NOT EXISTS log_entries ("
    " idx INTEGER PRIMARY KEY, position INTEGER NOT NULL, entry BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_tiles (id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, position INTEGER NOT NULL)",
    "INSERT INTO log_state VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING",
    "CREATE TABLE IF NOT EXISTS log_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_anchors ("
    " checkpoint_size INTEGER PRIMARY KEY, state TEXT NOT NULL, block_number INTEGER,"
    " record TEXT NOT NULL, block_hash TEXT)",
    "CREATE TABLE IF NOT EXISTS log_cosignatures ("
    " size INTEGER NOT NULL, witness TEXT NOT NULL, signature TEXT NOT NULL,"
    " PRIMARY KEY (size, witness))",
    # The batches in flight, the largest anchored, each witness's latest cosignature: found
    # without reading every batch or cosignature ever stored (the anchorer and /metrics ask).
    "CREATE INDEX IF NOT EXISTS log_anchors_by_state ON log_anchors (state, checkpoint_size)",
    "CREATE INDEX IF NOT EXISTS log_cosignatures_by_witness ON log_cosignatures (witness, size)",
    # Why anchoring cannot go on, if the chain refused it (one row, or none).
    "CREATE TABLE IF NOT EXISTS log_anchoring_blocked ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), reason TEXT NOT NULL, since TEXT NOT NULL)",
    # Log entries whose documents the hashing has yet to finish (the intake's gate reads it).
    "CREATE TABLE IF NOT EXISTS log_hashing_backlog ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), entries INTEGER NOT NULL)",
    "INSERT INTO log_hashing_backlog VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
)


# A process that reads stores nothing else writes meanwhile (an audit, a rebuild) reads whole
# files through a memory map, up to SQLite's own limit (2 GiB in Debian's build): a page already
# in the operating system's cache is then a memory access, not a read() call and a copy (an
# audit of a million spent 69-72 s of its 340-380 s of CPU in the kernel, 41 s with the map).
# (An I/O error on a mapped page is a signal, not an error code; the files are local.)
MAPPED_BYTES = 1 << 40

# The running ledger maps only the start of each file. SQLite drops a connection's whole map
# whenever it begins a read after another connection's commit, so with whole files mapped each
# was torn down and faulted in again hundreds of times a second (the serving process's CPU a
# credential 0.32 against 0.27 ms unmapped at 200,000 credentials). The start holds the first
# pages of every table and index, their roots among them, which every lookup reads: mapped, a
# single write's reads did not slow down as they did with no map at all, and a map that small
# is cheap to drop.
LIVE_MAPPED_BYTES = 64 << 20


class _Reads:
    mapped_bytes = LIVE_MAPPED_BYTES


def read_through_map(whole_files: bool = True) -> None:
    """Read the stores this process opens from now on through a map of their whole files (or,
    with ``whole_files`` false, of their start only, as the running ledger does): for a process
    that reads stores no other process is writing (an audit, a rebuild of the read model)."""
    _Reads.mapped_bytes = MAPPED_BYTES if whole_files else LIVE_MAPPED_BYTES


def mapped_bytes() -> int:
    """How much of a store file a connection opened now maps."""
    return _Reads.mapped_bytes


# The log's pages. An entry is an event's envelope, some 2 KB for a credential, and its key
# only grows: in 4 KB pages one entry took a page and left the rest of it empty (4.7 KB of file
# an entry, all of it written twice, to the write-ahead log and back). In 16 KB pages seven
# entries share one. Nothing in this file is looked up at random keys, where larger pages
# would cost more a write. SQLite sets a file's page size when the file is made: a log made
# before keeps its 4 KB pages.
LOG_PAGE_BYTES = 16_384


class SQLiteConnections:
    """One connection per thread to one database file, in WAL mode (or, for a scratch file
    only one connection uses, the ``journal`` mode given)."""

    def __init__(
        self,
        path: Path,
        *,
        durable: bool,
        scratch: bool = False,
        journal: str = "WAL",
        checkpoint_pages: int | None = None,
        page_bytes: int | None = None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._synchronous = "OFF" if scratch else "FULL" if durable else "NORMAL"
        self._journal = journal
        # How long the write-ahead log may grow before a commit copies it back (SQLite's
        # default: 1,000 pages).
        self._checkpoint_pages = checkpoint_pages
        # The page size of the file, if this connection makes it (set before its first table).
        self._page_bytes = page_bytes
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            if self._page_bytes is not None:
                # Before the journal mode: a file in WAL mode keeps the size it was made with.
                connection.execute(f"PRAGMA page_size={self._page_bytes}")
            connection.execute(f"PRAGMA journal_mode={self._journal}")
            connection.execute(f"PRAGMA synchronous={self._synchronous}")
            connection.execute(f"PRAGMA mmap_size={mapped_bytes()}")
            if self._checkpoint_pages is not None:
                connection.execute(f"PRAGMA wal_autocheckpoint={self._checkpoint_pages}")
            self._local.connection = connection
        return connection

    @contextmanager
    def cursor(self, *, write: bool) -> Iterator[sqlite3.Cursor]:
        connection = self.get()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        else:
            connection.commit()
        finally:
            cursor.close()


class SQLiteLogStore(SQLLogStore):
    def __init__(self, path: Path, *, durable: bool = False) -> None:
        # The log is derived from the event store: a power cut that loses its last
        # transaction is repaired by appending the same entries again. Anchor intents are
        # not derived, so their store asks for durable writes.
        self.path = path
        self._connections = SQLiteConnections(path, durable=durable, page_bytes=LOG_PAGE_BYTES)
        with self._transaction(write=True) as c:
            for statement in _SCHEMA:
                c.execute(statement)
            columns = {row[1] for row in c.execute("PRAGMA table_info(log_anchors)")}
            if "block_hash" not in columns:
                # Logs made before the column: each anchor's block hash from its record.
                c.execute("ALTER TABLE log_anchors ADD COLUMN block_hash TEXT")
                c.execute(
                    "UPDATE log_anchors SET block_hash = json_extract(record, '$.block_hash')"
                )

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Cursor]:
        with self._connections.cursor(write=write) as cursor:
            yield cursor

    def _rows(self, statement: str, params: Sequence[object]) -> list[Any]:
        # Single statements: SQLite reads them atomically without an explicit transaction.
        return list(self._connections.get().execute(statement, params).fetchall())

    def _tiles(self, cursor: object, keys: list[int]) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        connection = self._connections.get()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = connection.execute(
                f"SELECT id, data FROM log_tiles WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            found.update((key, bytes(data)) for key, data in rows)
        return found


class SQLiteAnchorStore(SQLAnchorStore):
    """Anchor records in the log's file, written through fully synchronous connections: an
    intent must be on disk before the transaction it describes is broadcast."""

    def __init__(self, log_store: SQLiteLogStore) -> None:
        super().__init__(SQLiteLogStore(log_store.path, durable=True))
