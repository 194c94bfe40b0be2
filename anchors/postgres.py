"""The PostgreSQL store of the transparency log and its anchors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from psycopg import Cursor
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from anchors.anchoring import AnchorRecord
from anchors.sql_store import SQLAnchorStore, SQLLogStore


def lz4_compressed(columns: Sequence[tuple[str, str]]) -> str:
    """A statement that has PostgreSQL compress the values of ``columns`` ((table, column)
    pairs) it stores from now on with LZ4, where the server has LZ4 (14 and later, built with
    it), and leaves them as they are elsewhere. Rows stored before keep their compression.

    Log entries, events and anchor records are JSON of a few kilobytes to a few hundred:
    PostgreSQL's own compression (pglz) took about twice the CPU LZ4 takes to store them."""
    changes = " ".join(
        f"IF (SELECT attcompression FROM pg_attribute WHERE attrelid = '{table}'::regclass"
        f" AND attname = '{column}') IS DISTINCT FROM 'l' THEN"
        f" ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4; END IF;"
        for table, column in columns
    )
    return (
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_settings"
        " WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN"
        f" {changes} END IF; END $$"
    )


class ColumnTypes:
    """The type of every column of tables, read from the catalog once a table: what COPY in
    binary needs to write values."""

    def __init__(self) -> None:
        self._known: dict[str, list[int]] = {}

    def of(self, cursor: Cursor[Any], table: str) -> list[int]:
        known = self._known.get(table)
        if known is None:
            cursor.execute(
                "SELECT atttypid FROM pg_attribute WHERE attrelid = %s::regclass"
                " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                (table,),
            )
            known = self._known[table] = [int(row[0]) for row in cursor.fetchall()]
        return known


def copy_rows(
    cursor: Cursor[Any], table: str, rows: Sequence[Sequence[Any]], types: ColumnTypes
) -> None:
    """Insert ``rows`` (a value for every column, in order) into ``table`` with COPY, in
    binary: for a run of rows, a third of the client's CPU and half the server's that an
    INSERT a row takes (psycopg's executemany, pipelined)."""
    if not rows:
        return
    oids = types.of(cursor, table)
    with cursor.copy(SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(Identifier(table))) as copy:
        copy.set_types(oids)
        for row in rows:
            copy.write_row(row)


_SCHEMA = (
    # Positions grow with indexes, so they need no index of their own (see index_of).
    "CREATE TABLE IF NOT EXISTS log_entries ("
    " idx BIGINT PRIMARY KEY, position BIGINT NOT NULL, entry BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_tiles (id BIGINT PRIMARY KEY, data BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, position BIGINT NOT NULL)",
    "INSERT INTO log_state VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING",
    "CREATE TABLE IF NOT EXISTS log_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_anchors ("
    " checkpoint_size BIGINT PRIMARY KEY, state TEXT NOT NULL, block_number BIGINT,"
    " record TEXT NOT NULL, block_hash TEXT)",
    "CREATE TABLE IF NOT EXISTS log_cosignatures ("
    " size BIGINT NOT NULL, witness TEXT NOT NULL, signature TEXT NOT NULL,"
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
    " id INTEGER PRIMARY KEY CHECK (id = 1), entries BIGINT NOT NULL)",
    "INSERT INTO log_hashing_backlog VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    lz4_compressed((("log_entries", "entry"), ("log_tiles", "data"), ("log_anchors", "record"))),
)


@contextmanager
def statement_alone(pool: ConnectionPool) -> Iterator[Cursor[Any]]:
    """A cursor for a statement that runs on its own, on one of ``pool``'s connections (in
    autocommit), outside a transaction block: under READ COMMITTED it sees what it would see
    inside one, without the round trips of BEGIN and COMMIT."""
    with pool.connection() as connection, connection.cursor() as cursor:
        yield cursor


class PostgresLogStore(SQLLogStore):
    def __init__(
        self,
        conninfo: str,
        pool_size: int = 4,
        timeout: float = 5.0,
        reconnect_timeout: float = 25.0,
    ) -> None:
        self._column_types = ColumnTypes()
        # ``reconnect_timeout`` bounds how long one lost connection is retried (with a
        # doubling pause) before the next use of the pool starts a fresh attempt.
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            open=True,
            timeout=timeout,
            reconnect_timeout=reconnect_timeout,
            # Transactions are begun explicitly (see _transaction); a read runs alone.
            kwargs={"autocommit": True},
        )
        with self._transaction(write=False) as c:
            # Serialise schema creation between processes starting at once.
            c.execute("SELECT pg_advisory_xact_lock(91620001)")
            for statement in _SCHEMA:
                c.execute(statement)
            # Logs made before the column: each anchor's block hash from its record. Looked up
            # first: an ALTER TABLE locks the table even when it has nothing to do.
            c.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = 'log_anchors' AND column_name = 'block_hash'"
            )
            if c.fetchone() is None:
                c.execute("ALTER TABLE log_anchors ADD COLUMN block_hash TEXT")
                c.execute("UPDATE log_anchors SET block_hash = record::json->>'block_hash'")

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Cursor[Any]]:
        with (
            self._pool.connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            if write:
                # One writer at a time: checkpoints and appends check the state they change.
                cursor.execute("LOCK TABLE log_state IN EXCLUSIVE MODE")
            yield cursor

    def _reading(self) -> AbstractContextManager[Cursor[Any]]:
        # Every read of the log is one statement (several hundred reads a ten thousand
        # credentials, from the log and anchor consumers and the API).
        return statement_alone(self._pool)

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def _insert_rows(
        self, cursor: Cursor[Any], table: str, rows: Sequence[Sequence[object]]
    ) -> None:
        copy_rows(cursor, table, rows, self._column_types)

    def _tiles(self, cursor: Cursor[Any], keys: list[int]) -> dict[int, bytes]:
        if not keys:
            return {}
        cursor.execute("SELECT id, data FROM log_tiles WHERE id = ANY(%s)", (keys,))
        return {int(key): bytes(data) for key, data in cursor.fetchall()}

    def close(self) -> None:
        self._pool.close()


# What a row of anchor records is known by until it changes: the transaction that wrote this
# version of it and where the version lies (each update makes a new version, in a new place).
_REVISION = "(log_anchors.xmin::text || ':' || log_anchors.ctid::text)"


class PostgresAnchorStore(SQLAnchorStore):
    """Anchor records in the log's database. A record kept parsed is known by its row's
    revision: a read sends the revisions kept, and the server sends a record's text only
    where its row's differs. The text of a batch's record is some hundreds of kilobytes,
    compressed out of line: sent whole at each of the dozen reads of a batch's anchoring, it
    cost the server a decompression and the consumers' process a decoding each time."""

    def _upsert(self, cursor: Any, record: AnchorRecord, text: str) -> str:
        cursor.execute(
            self._store._sql(f"{self._UPSERT} RETURNING {_REVISION}"), self._row(record, text)
        )
        return str(cursor.fetchone()[0])

    def _select(self, where: str, params: tuple[object, ...]) -> list[AnchorRecord]:
        known = self._known_tokens()
        rows = self._store._rows(
            f"SELECT checkpoint_size, {_REVISION},"
            f" CASE WHEN {_REVISION} = k.revision THEN NULL ELSE record END"
            " FROM log_anchors LEFT JOIN unnest(?::bigint[], ?::text[]) AS k(size, revision)"
            f" ON k.size = checkpoint_size WHERE {where}",
            (list(known), list(known.values()), *params),
        )
        return [self._record(int(size), str(token), text) for size, token, text in rows]

    def _fetch(self, checkpoint_size: int) -> tuple[str, str]:
        rows = self._store._rows(
            f"SELECT {_REVISION}, record FROM log_anchors WHERE checkpoint_size = ?",
            (checkpoint_size,),
        )
        return str(rows[0][0]), str(rows[0][1])
