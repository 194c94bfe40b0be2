"""The embedded SQLite backend: event store with the personal-data vault, and read model.

The event store is eventsourcing's SQLite recorder, extended so that personal data is written
in the same transaction as the events that commit to it. The read model lives in a file of its
own, so it can be dropped and rebuilt without touching history.
"""

from __future__ import annotations

import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from eventsourcing.persistence import ConnectionUnavailableError, IntegrityError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType

from anchors.sqlite import (
    SQLiteAnchorStore,
    SQLiteConnections,
    SQLiteLogStore,
    mapped_bytes,
)
from ledger.persistence.decided_on import ISSUER_MOVED, DecidedOn
from ledger.persistence.personal_data import (
    CREDENTIALS_CHANGED,
    KEY_ERASED,
    LEARNER_KNOWN,
    LearnerCipher,
    LearnerErasure,
    PersonalDataVault,
    SealedBatch,
)
from ledger.persistence.read_model import Cursor, ReadModel
from ledger.persistence.recent_notifications import RemembersNotifications
from ledger.persistence.wal_checkpointer import BackgroundCheckpointer
from ledger.persistence.wallet_sessions import SCHEMA as WALLET_SCHEMA
from ledger.persistence.wallet_sessions import WalletSessions
from ledger.settings import Settings

_VAULT_SCHEMA = (
    # Each record carries its learner's wrapped data key: a table of keys of its own cost a
    # bulk issue 8% (one more B-tree at a random key a credential), and erasing the learner's
    # records destroys the key all the same.
    "CREATE TABLE IF NOT EXISTS personal_data ("
    " commitment TEXT PRIMARY KEY, credential_id TEXT NOT NULL,"
    " learner_ref TEXT NOT NULL, ciphertext BLOB NOT NULL, wrapped_key BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS personal_data_by_learner ON personal_data (learner_ref)",
    # How many records of personal data have been deleted, however (see
    # PersonalDataVault.erasures).
    "CREATE TABLE IF NOT EXISTS vault_erasures ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), erasures INTEGER NOT NULL)",
    "INSERT INTO vault_erasures VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    "CREATE TRIGGER IF NOT EXISTS personal_data_erased AFTER DELETE ON personal_data"
    " BEGIN UPDATE vault_erasures SET erasures = erasures + 1; END",
    # Signed reads already answered, kept while they are fresh, so each is answered once.
    "CREATE TABLE IF NOT EXISTS spent_reads (nonce TEXT PRIMARY KEY, expires DOUBLE PRECISION"
    " NOT NULL)",
    *WALLET_SCHEMA,
)


# A credential's events and personal data touch B-trees at random keys (the aggregate's id,
# the commitment, the learner), so a bulk commit dirties hundreds of pages; with SQLite's
# default of 1,000 the write-ahead log was copied back into the database every other commit,
# nearly half of the commit's cost. A thread copies it back now, beside the writers
# (:mod:`ledger.persistence.wal_checkpointer`); a commit still does if the log passes 16,000
# pages (32 MB), should that thread fall behind.
EVENTS_CHECKPOINT_PAGES = 16_000

# The event store's pages. A credential's event is some 2.1 KB, so in 4 KB pages each took a
# page of its own and left nearly half of it empty; and every credential dirties pages of three
# B-trees at random keys (the events' key, the commitment, the learner), each written whole to
# the write-ahead log and again to the file. In 2 KB pages an event spills its tail to an
# overflow page that the next events' pages follow, and a random key costs half the bytes:
# 38% less file a credential and 22% less CPU for the store's inserts at 600,000 (measured
# with the store's own tables; 1 KB pages cost more CPU again, the trees being a level
# deeper). SQLite sets a file's page size when the file is made: a store made before keeps its
# 4 KB pages.
EVENTS_PAGE_BYTES = 2_048


class SQLiteLedgerRecorder(RemembersNotifications, SQLiteApplicationRecorder):
    """The application recorder, also storing sealed personal data with the events, and
    running whatever other ``statements`` belong with them in their transaction."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *_VAULT_SCHEMA]

    def create_table(self) -> None:
        if not self.datastore.pool.is_sqlite_memory_mode:
            fold_learner_keys(self.datastore.pool.db_name)
        super().create_table()

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        *,
        personal_data: SealedBatch | None = None,
        erasure: LearnerErasure | None = None,
        decided_on: DecidedOn | None = None,
        statements: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        if statements is not None:
            statements(c)
        # The events first: their insert takes the write lock, so the issuers, keys and
        # credentials checked next stay as found until this transaction ends.
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        if decided_on is not None:
            for issuer_id, version in decided_on.versions.items():
                c.execute(
                    f"SELECT MAX(originator_version) AS version FROM {self.events_table_name}"
                    " WHERE originator_id = ?",
                    (issuer_id.hex,),  # as the library stores it
                )
                if c.fetchone()["version"] != version:
                    raise IntegrityError(ISSUER_MOVED)
        if personal_data is not None:
            for learner_ref, wrapped_key in personal_data.reused_keys.items():
                c.execute(
                    "SELECT 1 FROM personal_data WHERE learner_ref = ? AND wrapped_key = ? LIMIT 1",
                    (learner_ref, wrapped_key),
                )
                if c.fetchone() is None:
                    raise IntegrityError(KEY_ERASED)
            new = personal_data.new_learners
            for start in range(0, len(new), 500):
                chunk = new[start : start + 500]
                c.execute(
                    "SELECT 1 FROM personal_data"
                    f" WHERE learner_ref IN ({', '.join('?' * len(chunk))}) LIMIT 1",
                    chunk,
                )
                if c.fetchone() is not None:
                    raise IntegrityError(LEARNER_KNOWN)
            c.executemany(
                "INSERT INTO personal_data"
                " (commitment, credential_id, learner_ref, ciphertext, wrapped_key)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (commitment) DO UPDATE SET ciphertext = excluded.ciphertext,"
                " learner_ref = excluded.learner_ref, credential_id = excluded.credential_id,"
                " wrapped_key = excluded.wrapped_key",
                [
                    (r.commitment, r.credential_id, r.learner_ref, r.ciphertext, r.wrapped_key)
                    for r in personal_data.records
                ],
            )
        if erasure is not None:
            self._erase(c, erasure)
        return notification_ids

    @staticmethod
    def _erase(c: SQLiteCursor, erasure: LearnerErasure) -> None:
        refs = erasure.learner_refs
        marks = ",".join("?" * len(refs))
        c.execute(
            f"SELECT DISTINCT credential_id FROM personal_data WHERE learner_ref IN ({marks})",
            refs,
        )
        if sorted(row["credential_id"] for row in c.fetchall()) != erasure.credential_ids:
            raise IntegrityError(CREDENTIALS_CHANGED)
        c.execute(f"DELETE FROM personal_data WHERE learner_ref IN ({marks})", refs)


def fold_learner_keys(path: str) -> None:
    """Move the wrapped keys of a store written before they were kept with each record (a
    ``learner_keys`` table) into its records, once, under the write lock, so that processes
    opening the store together do it once. A record whose key was gone could not be opened:
    it is dropped, as the join that read it did not find it either."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        # Asked first without the write lock: every process opens the store, and only a store
        # of the earlier layout needs it.
        if not _has_learner_keys(connection):
            return
        connection.execute("BEGIN IMMEDIATE")
        if _has_learner_keys(connection):
            connection.execute("ALTER TABLE personal_data ADD COLUMN wrapped_key BLOB")
            connection.execute(
                "UPDATE personal_data SET wrapped_key = (SELECT k.wrapped_key FROM learner_keys k"
                " WHERE k.learner_ref = personal_data.learner_ref)"
            )
            connection.execute("DELETE FROM personal_data WHERE wrapped_key IS NULL")
            connection.execute("DROP TABLE learner_keys")
        connection.execute("COMMIT")
    finally:
        connection.close()


def _has_learner_keys(connection: sqlite3.Connection) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'learner_keys'"
    ).fetchone()
    return found is not None


class SQLiteVault(PersonalDataVault):
    """Reads and erasures of the vault tables that :class:`SQLiteLedgerRecorder` writes."""

    def __init__(self, recorder: SQLiteLedgerRecorder, cipher: LearnerCipher) -> None:
        super().__init__(cipher)
        self._datastore = recorder.datastore

    def _rows_in(self, select: str, column: str, values: list[str]) -> list[Any]:
        """The rows of ``select`` whose ``column`` is one of ``values``, in one transaction
        (500 values a statement: SQLite's limit on parameters is lower in older builds)."""
        rows: list[Any] = []
        with self._datastore.transaction(commit=False) as c:
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                c.execute(f"{select} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk)
                rows += c.fetchall()
        return rows

    def _wrapped_keys(self, learner_refs: list[str]) -> dict[str, bytes]:
        rows = self._rows_in(
            "SELECT learner_ref, wrapped_key FROM personal_data", "learner_ref", learner_refs
        )
        return {row["learner_ref"]: row["wrapped_key"] for row in rows}

    def _load(self, commitments: list[str]) -> dict[str, tuple[str, bytes, bytes]]:
        rows = self._rows_in(
            "SELECT commitment, learner_ref, ciphertext, wrapped_key FROM personal_data",
            "commitment",
            commitments,
        )
        return {
            row["commitment"]: (row["learner_ref"], row["ciphertext"], row["wrapped_key"])
            for row in rows
        }

    def held(self, commitments: list[str]) -> set[str]:
        # Asked of every anchored batch: the rows' presence, without their ciphertexts.
        rows = self._rows_in("SELECT commitment FROM personal_data", "commitment", commitments)
        return {row["commitment"] for row in rows}

    def credentials_of(self, learner_ref: str) -> list[str]:
        with self._datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT DISTINCT credential_id FROM personal_data WHERE learner_ref = ?"
                " ORDER BY credential_id",
                (learner_ref,),
            )
            return [row["credential_id"] for row in c.fetchall()]

    def erase(self, learner_ref: str) -> None:
        self.forget([learner_ref])
        with self._datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM personal_data WHERE learner_ref = ?", (learner_ref,))

    def erasures(self) -> int:
        with self._datastore.transaction(commit=False) as c:
            c.execute("SELECT erasures FROM vault_erasures WHERE id = 1")
            row = c.fetchone()
        return int(row["erasures"]) if row else 0

    def spend_read(self, nonce: str, now: float, expires: float) -> bool:
        with self._datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM spent_reads WHERE expires < ?", (now,))
            c.execute(
                "INSERT INTO spent_reads VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING",
                (nonce, expires),
            )
            return bool(c.sqlite_cursor.rowcount == 1)


# A commit of a few hundred credentials touches thousands of pages of the read model's
# indexes (its keys are random); with SQLite's default the log was copied back after nearly
# every commit. 20,000 pages (80 MB) cut the projector's process's CPU by an eighth at 300,000
# credentials.
LIVE_CHECKPOINT_PAGES = 20_000

# The read model's pages: a credential adds rows at random keys to four B-trees (the
# credential's key, its issuer's index, its version's and its document's key), each page
# written whole; in 2 KB pages half the bytes (see :data:`EVENTS_PAGE_BYTES`). A model made
# before keeps its 4 KB pages.
READ_MODEL_PAGE_BYTES = 2_048


class SQLiteReadModel(ReadModel):
    def __init__(
        self, path: Path, *, durable: bool = True, temporary: bool = False, indexed: bool = True
    ) -> None:
        # Derived and rebuildable: a transaction lost to a power cut is replayed. A scratch
        # model (``durable=False``, an auditor's replay) need not reach the disk at all, nor
        # be read while it is written: its commits skip the write-ahead log, whose copy of
        # every page a commit touches (and the checkpoint's second copy) cost an audit of a
        # million credentials more than the replay itself. A temporary one, dropped when the
        # audit ends, keeps its rollback journal in memory; a kept one, on disk, so that a
        # crash mid-commit leaves it whole for the next audit.
        journal = "WAL" if durable else "MEMORY" if temporary else "TRUNCATE"
        self._connections = SQLiteConnections(
            path,
            durable=False,
            scratch=not durable,
            journal=journal,
            checkpoint_pages=LIVE_CHECKPOINT_PAGES if durable else None,
            page_bytes=READ_MODEL_PAGE_BYTES,
        )
        self.create_tables(indexed=indexed)

    @contextmanager
    def _cursor(self, *, write: bool) -> Iterator[Cursor]:
        with self._connections.cursor(write=write) as cursor:
            yield cursor


class EventStoreConnectionPool(SQLiteConnectionPool):
    """eventsourcing's connection pool, each connection reading the file through a memory
    map where the process does (:func:`anchors.sqlite.read_through_map`), copying its
    write-ahead log back every :data:`EVENTS_CHECKPOINT_PAGES` (set once a connection, not once
    a write) unless its :class:`BackgroundCheckpointer` (started with the first write, and told
    how many rows each write changed) did; a writer waits for the one write connection before
    it joins the queue for a connection, not in it."""

    _checkpointer: BackgroundCheckpointer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each writing connection's count of rows changed when it was last put back.
        self._counted: weakref.WeakKeyDictionary[SQLiteConnection, int] = (
            weakref.WeakKeyDictionary()
        )

    def get_connection(
        self, timeout: float | None = None, *, is_writer: bool | None = None
    ) -> SQLiteConnection:
        # The library's pool queues every request in one line and has a writer wait there for
        # the write lock: while one write commits (its fsync included), a second writer in the
        # line held up every read behind it, a bulk request's read of its issuer among them.
        # Measured at 200,000 credentials: the API's write threads spent ~17% of their time
        # so, with a core idle. In a write-ahead log a read needs no writer to finish.
        if is_writer is not True or self._mutually_exclusive_read_write:
            return super().get_connection(timeout, is_writer=is_writer)
        limit = self.pool_timeout if timeout is None else timeout
        started = time.monotonic()
        if not self._writer_lock.acquire(timeout=-1 if limit is None else limit):
            raise ConnectionUnavailableError("Timed out waiting for return of writer")
        try:
            left = None if limit is None else max(0.0, limit - (time.monotonic() - started))
            connection = super().get_connection(left, is_writer=None)
        except BaseException:
            self._writer_lock.release()
            raise
        self._num_writers += 1
        # Returned as a writer: the pool releases the write lock when it is put back.
        connection.is_writer = True
        if self._checkpointer is None:
            self._checkpointer = BackgroundCheckpointer(Path(self.db_name))
        return connection

    def put_connection(self, conn: SQLiteConnection) -> None:
        # What a writer wrote is counted for the checkpointer before the write lock goes.
        if conn.is_writer is True and self._checkpointer is not None:
            changes = conn._sqlite_conn.total_changes
            self._checkpointer.wrote(changes - self._counted.get(conn, 0))
            self._counted[conn] = changes
        super().put_connection(conn)

    def close(self) -> None:
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.close()
        super().close()

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        if not self.is_sqlite_memory_mode:
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA mmap_size={mapped_bytes()}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={EVENTS_CHECKPOINT_PAGES}")
        return connection


class EventStoreFactory(SQLiteFactory):
    """eventsourcing's SQLite factory, its store read through :class:`EventStoreConnectionPool`."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        unmapped = self.datastore.pool
        if not unmapped.is_sqlite_memory_mode:
            _make_with_page_size(Path(unmapped.db_name), EVENTS_PAGE_BYTES)
        # The library's datastore makes its pool itself; no connection is open yet.
        self.datastore.pool = EventStoreConnectionPool(
            db_name=unmapped.db_name, lock_timeout=unmapped.lock_timeout
        )
        unmapped.close()


def _make_with_page_size(path: Path, page_bytes: int) -> None:
    """Make the event store's file, empty, with its page size, if it is not there yet (the
    library's connections then open it in WAL mode, which keeps that size)."""
    if path.exists() and path.stat().st_size > 0:
        return
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(f"PRAGMA page_size={page_bytes}")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def event_store_env(settings: Settings) -> dict[str, str]:
    """eventsourcing's configuration for the SQLite event store."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "ledger.persistence.sqlite:EventStoreFactory",
        "APPLICATION_RECORDER_TOPIC": "ledger.persistence.sqlite:SQLiteLedgerRecorder",
        "SQLITE_DBNAME": str(settings.events_db),
        "SQLITE_LOCK_TIMEOUT": "30",
    }


def schema_lock(settings: Settings) -> AbstractContextManager[None]:
    """Nothing to hold: SQLite serialises schema changes itself."""
    return nullcontext()


def open_read_model(settings: Settings) -> SQLiteReadModel:
    return SQLiteReadModel(settings.read_model_db)


class SQLiteWalletSessions(WalletSessions):
    """OpenID4VCI issuance state in the event store's database."""

    def __init__(self, recorder: SQLiteLedgerRecorder) -> None:
        super().__init__()
        self._datastore = recorder.datastore

    def _transaction(self, *, commit: bool = True) -> AbstractContextManager[Any]:
        return self._datastore.transaction(commit=commit)


def open_wallet_sessions(recorder: Any) -> SQLiteWalletSessions:
    if not isinstance(recorder, SQLiteLedgerRecorder):
        raise TypeError("the wallet sessions need the ledger's SQLite recorder")
    return SQLiteWalletSessions(recorder)


def open_vault(recorder: Any, cipher: LearnerCipher) -> SQLiteVault:
    if not isinstance(recorder, SQLiteLedgerRecorder):
        raise TypeError("the SQLite vault needs the ledger's SQLite recorder")
    return SQLiteVault(recorder, cipher)


def open_event_notices(settings: Settings, recorder: Any) -> None:
    """None: SQLite cannot announce a write to another process (its followers look again)."""
    return None


def open_log_store(settings: Settings) -> SQLiteLogStore:
    return SQLiteLogStore(settings.log_db)


def open_anchor_store(log_store: SQLiteLogStore) -> SQLiteAnchorStore:
    return SQLiteAnchorStore(log_store)
