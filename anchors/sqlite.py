"""The SQLite store of the transparency log: entries and perfect-subtree hashes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from anchors import tiles
from anchors.anchoring import AnchorRecord, AnchorStore
from anchors.log import LogStore, LogStoreConflict
from anchors.merkle import Node

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
    " record TEXT NOT NULL)",
)


class SQLiteLogStore(LogStore):
    def __init__(self, path: Path, *, durable: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._synchronous = "FULL" if durable else "NORMAL"
        self._local = threading.local()
        with self._transaction(write=True) as c:
            for statement in _SCHEMA:
                c.execute(statement)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            # The log is derived from the event store: a power cut that loses its last
            # transaction is repaired by appending the same entries again.
            connection.execute(f"PRAGMA synchronous={self._synchronous}")
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Cursor]:
        connection = self._connection()
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

    def state(self) -> tuple[int, int]:
        row = (
            self._connection()
            .execute("SELECT size, position FROM log_state WHERE id = 1")
            .fetchone()
        )
        return int(row[0]), int(row[1])

    def nodes(self, ids: Iterable[Node]) -> dict[Node, bytes]:
        wanted = tiles.by_tile(ids)
        return tiles.read(self._tiles(self._connection(), list(wanted)), wanted)

    @staticmethod
    def _tiles(
        connection: sqlite3.Connection | sqlite3.Cursor, keys: list[int]
    ) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        # Single statements: SQLite reads them atomically without an explicit transaction.
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = connection.execute(
                f"SELECT id, data FROM log_tiles WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            found.update((key, bytes(data)) for key, data in rows)
        return found

    def index_of(self, position: int) -> int | None:
        connection = self._connection()
        size = self.state()[0]
        low, high = 0, size
        # Entries are appended in the store's order: positions increase with indexes.
        while low < high:
            middle = (low + high) // 2
            found = connection.execute(
                "SELECT position FROM log_entries WHERE idx = ?", (middle,)
            ).fetchone()[0]
            if found == position:
                return middle
            if found < position:
                low = middle + 1
            else:
                high = middle
        return None

    def add_checkpoint(self, size: int, note: str) -> None:
        with self._transaction(write=True) as c:
            c.execute("SELECT COALESCE(MAX(size), 0) FROM log_checkpoints")
            if c.fetchone()[0] >= size:
                raise LogStoreConflict(f"a checkpoint at size {size} or later exists")
            c.execute("INSERT INTO log_checkpoints VALUES (?, ?)", (size, note))

    def latest_checkpoint(self) -> tuple[int, str] | None:
        with self._transaction(write=False) as c:
            c.execute("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
            row = c.fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def checkpoints(self, after_size: int, limit: int) -> list[tuple[int, str]]:
        with self._transaction(write=False) as c:
            c.execute(
                "SELECT size, note FROM log_checkpoints WHERE size > ? ORDER BY size LIMIT ?",
                (after_size, limit),
            )
            return [(int(size), str(note)) for size, note in c.fetchall()]

    def entries(self, start: int, stop: int) -> list[bytes]:
        with self._transaction(write=False) as c:
            c.execute(
                "SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, stop),
            )
            return [bytes(row[0]) for row in c.fetchall()]

    def append(
        self,
        old_size: int,
        entries: Sequence[bytes],
        positions: Sequence[int],
        nodes: dict[Node, bytes],
    ) -> None:
        with self._transaction(write=True) as c:
            c.execute(
                "UPDATE log_state SET size = ?, position = ? WHERE id = 1 AND size = ?",
                (old_size + len(entries), positions[-1], old_size),
            )
            if c.rowcount != 1:
                raise LogStoreConflict(f"the log is no longer {old_size} entries long")
            c.executemany(
                "INSERT INTO log_entries VALUES (?, ?, ?)",
                [
                    (old_size + i, position, entry)
                    for i, (position, entry) in enumerate(zip(positions, entries, strict=True))
                ],
            )
            changed = tiles.merge(lambda keys: self._tiles(c, keys), nodes)
            c.executemany(
                "INSERT INTO log_tiles VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                list(changed.items()),
            )


class SQLiteAnchorStore(AnchorStore):
    """Anchor records in the log's database file."""

    def __init__(self, log_store: SQLiteLogStore) -> None:
        # Its own connections, fully synchronous: an intent must be on disk before the
        # transaction it describes is broadcast.
        self._transaction = SQLiteLogStore(log_store.path, durable=True)._transaction

    def save(self, record: AnchorRecord) -> None:
        with self._transaction(write=True) as c:
            c.execute(
                "INSERT INTO log_anchors VALUES (?, ?, ?, ?) ON CONFLICT (checkpoint_size)"
                " DO UPDATE SET state = excluded.state, block_number = excluded.block_number,"
                " record = excluded.record",
                (record.checkpoint_size, record.state, record.block_number, record.to_json()),
            )

    def _select(self, where: str, params: tuple[object, ...]) -> list[AnchorRecord]:
        with self._transaction(write=False) as c:
            c.execute(f"SELECT record FROM log_anchors WHERE {where}", params)
            return [AnchorRecord.from_json(row[0]) for row in c.fetchall()]

    def get(self, checkpoint_size: int) -> AnchorRecord | None:
        found = self._select("checkpoint_size = ?", (checkpoint_size,))
        return found[0] if found else None

    def unfinished(self) -> list[AnchorRecord]:
        return self._select("state != 'recorded' ORDER BY checkpoint_size", ())

    def latest(self) -> AnchorRecord | None:
        found = self._select("1 = 1 ORDER BY checkpoint_size DESC LIMIT 1", ())
        return found[0] if found else None

    def recorded_since(self, block_number: int) -> list[AnchorRecord]:
        return self._select(
            "state = 'recorded' AND block_number >= ? ORDER BY checkpoint_size", (block_number,)
        )

    def covering(self, index: int) -> AnchorRecord | None:
        found = self._select(
            "state = 'recorded' AND checkpoint_size > ? ORDER BY checkpoint_size LIMIT 1",
            (index,),
        )
        return found[0] if found else None
