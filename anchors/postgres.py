"""The PostgreSQL store of the transparency log: entries and perfect-subtree hashes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import Cursor
from psycopg_pool import ConnectionPool

from anchors import tiles
from anchors.anchoring import AnchorRecord, AnchorStore
from anchors.log import LogStore, LogStoreConflict
from anchors.merkle import Node

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS log_entries ("
    " idx BIGINT PRIMARY KEY, position BIGINT NOT NULL UNIQUE, entry BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_tiles (id BIGINT PRIMARY KEY, data BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, position BIGINT NOT NULL)",
    "INSERT INTO log_state VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING",
    "CREATE TABLE IF NOT EXISTS log_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_anchors ("
    " checkpoint_size BIGINT PRIMARY KEY, state TEXT NOT NULL, block_number BIGINT,"
    " record TEXT NOT NULL)",
)


class PostgresLogStore(LogStore):
    def __init__(self, conninfo: str, pool_size: int = 4) -> None:
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=pool_size, open=True)
        with self._transaction() as c:
            # Serialise schema creation between processes starting at once.
            c.execute("SELECT pg_advisory_xact_lock(91620001)")
            for statement in _SCHEMA:
                c.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[Cursor[Any]]:
        with (
            self._pool.connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            yield cursor

    def close(self) -> None:
        self._pool.close()

    def state(self) -> tuple[int, int]:
        with self._transaction() as c:
            c.execute("SELECT size, position FROM log_state WHERE id = 1")
            row = c.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def nodes(self, ids: Iterable[Node]) -> dict[Node, bytes]:
        wanted = tiles.by_tile(ids)
        with self._transaction() as c:
            return tiles.read(self._tiles(c, list(wanted)), wanted)

    @staticmethod
    def _tiles(c: Cursor[Any], keys: list[int]) -> dict[int, bytes]:
        if not keys:
            return {}
        c.execute("SELECT id, data FROM log_tiles WHERE id = ANY(%s)", (keys,))
        return {int(key): bytes(data) for key, data in c.fetchall()}

    def entries(self, start: int, stop: int) -> list[bytes]:
        with self._transaction() as c:
            c.execute(
                "SELECT entry FROM log_entries WHERE idx >= %s AND idx < %s ORDER BY idx",
                (start, stop),
            )
            return [bytes(row[0]) for row in c.fetchall()]

    def index_of(self, position: int) -> int | None:
        with self._transaction() as c:
            c.execute("SELECT idx FROM log_entries WHERE position = %s", (position,))
            row = c.fetchone()
        return None if row is None else int(row[0])

    def add_checkpoint(self, size: int, note: str) -> None:
        with self._transaction() as c:
            c.execute("LOCK TABLE log_checkpoints IN EXCLUSIVE MODE")
            c.execute("SELECT COALESCE(MAX(size), 0) FROM log_checkpoints")
            row = c.fetchone()
            if row is not None and int(row[0]) >= size:
                raise LogStoreConflict(f"a checkpoint at size {size} or later exists")
            c.execute("INSERT INTO log_checkpoints VALUES (%s, %s)", (size, note))

    def latest_checkpoint(self) -> tuple[int, str] | None:
        with self._transaction() as c:
            c.execute("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
            row = c.fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def checkpoints(self, after_size: int, limit: int) -> list[tuple[int, str]]:
        with self._transaction() as c:
            c.execute(
                "SELECT size, note FROM log_checkpoints WHERE size > %s ORDER BY size LIMIT %s",
                (after_size, limit),
            )
            return [(int(size), str(note)) for size, note in c.fetchall()]

    def append(
        self,
        old_size: int,
        entries: Sequence[bytes],
        positions: Sequence[int],
        nodes: dict[Node, bytes],
    ) -> None:
        with self._transaction() as c:
            c.execute(
                "UPDATE log_state SET size = %s, position = %s WHERE id = 1 AND size = %s",
                (old_size + len(entries), positions[-1], old_size),
            )
            if c.rowcount != 1:
                raise LogStoreConflict(f"the log is no longer {old_size} entries long")
            c.executemany(
                "INSERT INTO log_entries VALUES (%s, %s, %s)",
                [
                    (old_size + i, position, entry)
                    for i, (position, entry) in enumerate(zip(positions, entries, strict=True))
                ],
            )
            changed = tiles.merge(lambda keys: self._tiles(c, keys), nodes)
            c.executemany(
                "INSERT INTO log_tiles VALUES (%s, %s)"
                " ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                list(changed.items()),
            )


class PostgresAnchorStore(AnchorStore):
    """Anchor records in the log's database."""

    def __init__(self, log_store: PostgresLogStore) -> None:
        self._transaction = log_store._transaction

    def save(self, record: AnchorRecord) -> None:
        with self._transaction() as c:
            c.execute(
                "INSERT INTO log_anchors VALUES (%s, %s, %s, %s) ON CONFLICT (checkpoint_size)"
                " DO UPDATE SET state = excluded.state, block_number = excluded.block_number,"
                " record = excluded.record",
                (record.checkpoint_size, record.state, record.block_number, record.to_json()),
            )

    def _select(self, where: str, params: tuple[object, ...]) -> list[AnchorRecord]:
        with self._transaction() as c:
            c.execute(f"SELECT record FROM log_anchors WHERE {where}", params)
            return [AnchorRecord.from_json(row[0]) for row in c.fetchall()]

    def get(self, checkpoint_size: int) -> AnchorRecord | None:
        found = self._select("checkpoint_size = %s", (checkpoint_size,))
        return found[0] if found else None

    def unfinished(self) -> list[AnchorRecord]:
        return self._select("state != 'recorded' ORDER BY checkpoint_size", ())

    def latest(self) -> AnchorRecord | None:
        found = self._select("TRUE ORDER BY checkpoint_size DESC LIMIT 1", ())
        return found[0] if found else None

    def recorded_since(self, block_number: int) -> list[AnchorRecord]:
        return self._select(
            "state = 'recorded' AND block_number >= %s ORDER BY checkpoint_size", (block_number,)
        )

    def covering(self, index: int) -> AnchorRecord | None:
        found = self._select(
            "state = 'recorded' AND checkpoint_size > %s ORDER BY checkpoint_size LIMIT 1",
            (index,),
        )
        return found[0] if found else None
