"""The PostgreSQL backend: event store with the personal-data vault, and read model.

The event store is eventsourcing's PostgreSQL recorder, extended (as for SQLite) to write
sealed personal data in the same transaction as the events. The read model uses its own pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

import psycopg
from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from anchors.postgres import (
    ColumnTypes,
    PostgresAnchorStore,
    PostgresLogStore,
    copy_rows,
    lz4_compressed,
    statement_alone,
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
from ledger.persistence.read_model import Cursor as ReadModelCursor
from ledger.persistence.read_model import ReadModel
from ledger.persistence.recent_notifications import RemembersNotifications
from ledger.persistence.wallet_sessions import SCHEMA as WALLET_SCHEMA
from ledger.persistence.wallet_sessions import WalletSessions
from ledger.settings import Settings


# BYTE ORDER: the read model's text and the vault's keys are compared byte by byte, as SQLite
# compares them, whatever collation the database was made with. The audit compares the live
# model's digest, its rows read in key order, with a SQLite replay's: in a database made with
# a linguistic collation (a common default) an issuer's wallet keys (base64url kids) came out
# in another order, and a faithful model failed its audit. A byte comparison is also the
# cheapest: under a libc locale other than C, even C.UTF-8, PostgreSQL calls strcoll for
# every comparison an index makes.
def _in_byte_order(tables: str) -> str:
    """A statement that makes every text column of the tables whose names are LIKE ``tables``
    compare bytes (see BYTE ORDER), where one does not yet: in a store made before, once,
    rebuilding the indexes on them."""
    return (
        "DO $$ DECLARE t RECORD; BEGIN FOR t IN SELECT table_name, string_agg("
        """format('ALTER COLUMN %I TYPE TEXT COLLATE "C"', column_name), ', ') AS changes"""
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        f" AND table_name LIKE '{tables}' AND data_type = 'text'"
        " AND collation_name IS DISTINCT FROM 'C' GROUP BY table_name"
        " LOOP EXECUTE format('ALTER TABLE %I %s', t.table_name, t.changes); END LOOP; END $$"
    )


# LOOKUPS of many keys at once are written as one index lookup a key (a LATERAL subquery
# with LIMIT 1, which the planner cannot turn into a join): "key = ANY(array)" leaves the
# choice of plan to the table's statistics. Before the first ANALYZE of a growing table (the
# autovacuum looks once a minute) PostgreSQL scanned the whole table, or every entry of an
# issuer's status list, for each lookup: 5 to 9 ms instead of 0.5, and its CPU a credential
# tripled for a minute at a time. With statistics, the status-list probe still chose a scan.

# The class of the advisory locks that serialise a learner's erasure with writes of records
# sealed under their key (the second number of each lock: the hash of the learner reference).
LEARNER_LOCKS = 91620003

_VAULT_SCHEMA = (
    # Each record carries its learner's wrapped data key (see ledger.persistence.sqlite).
    "CREATE TABLE IF NOT EXISTS personal_data ("
    ' commitment TEXT COLLATE "C" PRIMARY KEY, credential_id TEXT COLLATE "C" NOT NULL,'
    ' learner_ref TEXT COLLATE "C" NOT NULL, ciphertext BYTEA NOT NULL,'
    " wrapped_key BYTEA NOT NULL)",
    # Its keys compared byte by byte (see BYTE ORDER), in a store made before too: once.
    _in_byte_order("personal_data"),
    "CREATE INDEX IF NOT EXISTS personal_data_by_learner ON personal_data (learner_ref)",
    # A store written before the keys were kept with the records: move them there, once (the
    # schema lock is held). A record whose key was gone could not be opened: it is dropped,
    # as the join that read it did not find it either.
    "DO $$ BEGIN IF to_regclass('learner_keys') IS NOT NULL THEN"
    " ALTER TABLE personal_data ADD COLUMN IF NOT EXISTS wrapped_key BYTEA;"
    " UPDATE personal_data p SET wrapped_key = k.wrapped_key FROM learner_keys k"
    " WHERE k.learner_ref = p.learner_ref;"
    " DELETE FROM personal_data WHERE wrapped_key IS NULL;"
    " DROP TABLE learner_keys;"
    " END IF; END $$",
    # A write whose records were sealed under learners' existing keys holds each learner
    # (shared, against an erasure of them) and then finds the key still held; else it fails
    # as an integrity error, and the ledger seals the records again under a new key.
    "CREATE OR REPLACE FUNCTION credledger_hold_learner_keys(refs TEXT[], wrapped BYTEA[])"
    " RETURNS VOID LANGUAGE plpgsql AS $$ BEGIN"
    " FOR i IN 1 .. coalesce(array_length(refs, 1), 0) LOOP"
    f" PERFORM pg_advisory_xact_lock_shared({LEARNER_LOCKS}, hashtext(refs[i]));"
    " IF NOT EXISTS (SELECT 1 FROM personal_data"
    " WHERE learner_ref = refs[i] AND wrapped_key = wrapped[i]) THEN"
    f" RAISE EXCEPTION '{KEY_ERASED.replace(chr(39), chr(39) * 2)}'"
    " USING ERRCODE = 'integrity_constraint_violation';"
    " END IF; END LOOP; END $$",
    # A write that gave learners new keys without asking the vault first finds none held
    # for them; else it fails as an integrity error, and the ledger seals the records again.
    "CREATE OR REPLACE FUNCTION credledger_require_new_learners(refs TEXT[])"
    " RETURNS VOID LANGUAGE plpgsql AS $$ BEGIN"
    " IF EXISTS (SELECT 1 FROM personal_data WHERE learner_ref = ANY(refs)) THEN"
    f" RAISE EXCEPTION '{LEARNER_KNOWN.replace(chr(39), chr(39) * 2)}'"
    " USING ERRCODE = 'integrity_constraint_violation';"
    " END IF; END $$",
    # An erasure holds its learners (exclusive, in one order), finds the vault holding their
    # data for exactly the credentials its events name, else fails as an integrity error (the
    # ledger decides it again), and destroys their records.
    "CREATE OR REPLACE FUNCTION credledger_erase_learners(refs TEXT[], credential_ids TEXT[])"
    " RETURNS VOID LANGUAGE plpgsql AS $$ DECLARE lock INTEGER; BEGIN"
    " FOR lock IN SELECT DISTINCT hashtext(r) AS h FROM unnest(refs) r ORDER BY h LOOP"
    f" PERFORM pg_advisory_xact_lock({LEARNER_LOCKS}, lock);"
    " END LOOP;"
    " IF (SELECT count(DISTINCT credential_id) FROM personal_data"
    " WHERE learner_ref = ANY(refs)) <> cardinality(credential_ids)"
    " OR EXISTS (SELECT 1 FROM personal_data WHERE learner_ref = ANY(refs)"
    " AND credential_id <> ALL(credential_ids)) THEN"
    f" RAISE EXCEPTION '{CREDENTIALS_CHANGED.replace(chr(39), chr(39) * 2)}'"
    " USING ERRCODE = 'integrity_constraint_violation';"
    " END IF;"
    " DELETE FROM personal_data WHERE learner_ref = ANY(refs); END $$",
    # A write decided on issuers at given versions (see ledger.persistence.decided_on) finds,
    # once the events table is locked for its insert, each still at that version; else it
    # fails as an integrity error, and the ledger decides the command again.
    "CREATE OR REPLACE FUNCTION credledger_require_versions("
    "events REGCLASS, id_type TEXT, ids TEXT[], versions BIGINT[])"
    " RETURNS VOID LANGUAGE plpgsql AS $$ DECLARE found BIGINT; BEGIN"
    " FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP"
    " EXECUTE format('SELECT max(originator_version) FROM %s"
    " WHERE originator_id = CAST($1 AS %s)', events, id_type) INTO found USING ids[i];"
    " IF found IS DISTINCT FROM versions[i] THEN"
    f" RAISE EXCEPTION '{ISSUER_MOVED.replace(chr(39), chr(39) * 2)}'"
    " USING ERRCODE = 'integrity_constraint_violation';"
    " END IF; END LOOP; END $$",
    # How many deletions of personal data there have been, however made (an erasure, an
    # upgrade): a reader that saw the same count before and after knows nothing it read was
    # erased in between (see PersonalDataVault.erasures).
    "CREATE TABLE IF NOT EXISTS vault_erasures ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), erasures BIGINT NOT NULL)",
    "INSERT INTO vault_erasures VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    "CREATE OR REPLACE FUNCTION credledger_count_erasure() RETURNS TRIGGER LANGUAGE plpgsql"
    " AS $$ BEGIN UPDATE vault_erasures SET erasures = erasures + 1; RETURN NULL; END $$",
    # Made once: creating a trigger locks the table against the writes of running workers.
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'personal_data_erased'"
    " AND tgrelid = 'personal_data'::regclass) THEN"
    " CREATE TRIGGER personal_data_erased AFTER DELETE ON personal_data"
    " FOR EACH STATEMENT EXECUTE FUNCTION credledger_count_erasure(); END IF; END $$",
    # Signed reads already answered, kept while they are fresh, so each is answered once.
    "CREATE TABLE IF NOT EXISTS spent_reads (nonce TEXT PRIMARY KEY, expires DOUBLE PRECISION"
    " NOT NULL)",
    *WALLET_SCHEMA,
)


def reconnect_within(timeout: float) -> float:
    """How long a pool retries one lost connection before giving it up, so that the next
    request starts a fresh attempt at once. psycopg_pool's default (five minutes, the pause
    doubling after each failure) left the service answering 503 for a minute or more after
    PostgreSQL came back from a restart of a minute or two."""
    return 5 * timeout


class _BinaryNotificationReads(PostgresApplicationRecorder):
    """The log read onwards from a position (the relay's read, and the followers') in
    PostgreSQL's binary format: each event's state arrives as it is stored, where the text
    format had the server write it out as hex, twice its size, and the client decode it."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self._select_after = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM {schema}.{table} WHERE notification_id > %s"
            " ORDER BY notification_id LIMIT %s"
        ).format(schema=Identifier(datastore.schema), table=Identifier(self.events_table_name))

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        found: Sequence[Notification]
        if start is None or inclusive_of_start or stop is not None or topics:
            found = super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
        else:
            found = self._notifications_after(start, limit)
        return found

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _notifications_after(self, start: int, limit: int) -> list[Notification]:
        with (
            self.datastore.get_connection() as connection,
            connection.cursor(row_factory=tuple_row) as cursor,
        ):
            cursor.execute(self._select_after, (start, limit), prepare=True, binary=True)
            return [
                Notification(
                    id=position,
                    originator_id=originator_id,
                    originator_version=version,
                    topic=topic,
                    state=state,
                )
                for position, originator_id, version, topic, state in cursor.fetchall()
            ]


# A connection left in a transaction (a statement failed, or the caller raised meanwhile).
_IN_TRANSACTION = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


class PostgresLedgerRecorder(RemembersNotifications, _BinaryNotificationReads):
    """The application recorder, also storing sealed personal data with the events, and
    running whatever other ``statements`` belong with them in their transaction."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        datastore.pool.reconnect_timeout = reconnect_within(datastore.pool.timeout)
        self.sql_create_statements.extend(SQL(statement).format() for statement in _VAULT_SCHEMA)
        events = f"{datastore.schema}.{self.events_table_name}"
        self.sql_create_statements.append(SQL(lz4_compressed(((events, "state"),))).format())
        # The library's insert sends one array of a composite type, which psycopg writes as
        # text in Python (about 0.1 ms an event, half an API worker's time); an array a
        # column, in binary, takes a fifteenth of that, and the server reads it faster too.
        self._insert_columns = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[])"
            " RETURNING notification_id"
        ).format(
            schema=Identifier(datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=SQL(datastore.originator_id_type),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The events and what belongs with them, in one transaction sent to the server at
        once: the events table's lock is held only while the server works through the insert
        and the commit. The library's transaction waits for the server at its start, after
        the insert and at its commit, so the lock also waited on the client's turns at the
        CPU (and the GIL), and every other API worker with it (35 ms a wait under load)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                # One Sync, at the pipeline's end. A statement that fails makes the server
                # skip the rest (the COMMIT with it) and is raised there.
                with conn.pipeline():
                    curs.execute("BEGIN")
                    self._insert_events(curs, stored_events, **kwargs)
                    if stored_events:
                        self._insert_stored_events(curs, stored_events, **kwargs)
                    conn.execute("COMMIT")  # its own cursor: curs keeps the insert's ids
            except BaseException:
                if conn.info.transaction_status in _IN_TRANSACTION:
                    conn.rollback()
                raise
            if not stored_events:
                return None
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        decided_on: DecidedOn | None = None,
        **kwargs: Any,
    ) -> None:
        # As the library's: the table locked (commit order is notification order), the
        # channel notified, the notification ids returned; the rows sent a column at a time.
        self._lock_table(curs)
        if decided_on is not None and decided_on.versions:
            # With the events table locked against every other writer of events, an issuer
            # found at its version here stays there until the commit.
            curs.execute(
                "SELECT credledger_require_versions(%s::regclass, %s, %s, %s)",
                (
                    f"{self.datastore.schema}.{self.events_table_name}",
                    self.datastore.originator_id_type,
                    [str(issuer_id) for issuer_id in decided_on.versions],
                    list(decided_on.versions.values()),
                ),
            )
        self._notify_channel(curs)
        curs.execute(
            self._insert_columns,
            (
                [event.originator_id for event in stored_events],
                [event.originator_version for event in stored_events],
                [event.topic for event in stored_events],
                [event.state for event in stored_events],
            ),
        )

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        personal_data: SealedBatch | None = None,
        erasure: LearnerErasure | None = None,
        statements: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> None:
        if statements is not None:
            statements(curs)
        if erasure is not None:
            curs.execute(
                "SELECT credledger_erase_learners(%s, %s)",
                (erasure.learner_refs, erasure.credential_ids),
            )
        if personal_data is None:
            return
        if personal_data.reused_keys:
            curs.execute(
                "SELECT credledger_hold_learner_keys(%s, %s)",
                (list(personal_data.reused_keys), list(personal_data.reused_keys.values())),
            )
        if personal_data.new_learners:
            curs.execute(
                "SELECT credledger_require_new_learners(%s)", (personal_data.new_learners,)
            )
        # One statement, an array a column in binary: a statement a record (the pipelined
        # executemany) cost the server ~30 us a credential and the API worker more. A statement
        # cannot update a row twice, so of records with one commitment the last is sent, which
        # is the row a statement a record left.
        records = list({r.commitment: r for r in personal_data.records}.values())
        curs.execute(
            "INSERT INTO personal_data"
            " (commitment, credential_id, learner_ref, ciphertext, wrapped_key)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::bytea[], %b::bytea[])"
            " ON CONFLICT (commitment) DO UPDATE SET ciphertext = excluded.ciphertext,"
            " learner_ref = excluded.learner_ref, credential_id = excluded.credential_id,"
            " wrapped_key = excluded.wrapped_key",
            (
                [r.commitment for r in records],
                [r.credential_id for r in records],
                [r.learner_ref for r in records],
                [r.ciphertext for r in records],
                [r.wrapped_key for r in records],
            ),
        )


@contextmanager
def _statements_alone(datastore: PostgresDatastore) -> Iterator[Cursor[DictRow]]:
    """A cursor for reads whose statements each run alone, outside a transaction block (the
    pool's connections commit each statement as it ends): under READ COMMITTED a statement
    sees what it would have seen inside one. A read-only block ended by ROLLBACK, as the
    library's ``transaction(commit=False)`` ends it, made psycopg forget every statement the
    connection had prepared and send DEALLOCATE ALL: the serving process reads the vault
    before each bulk write, so its writes were parsed and planned again every time."""
    with datastore.get_connection() as connection, connection.cursor() as cursor:
        yield cursor


class PostgresVault(PersonalDataVault):
    """Reads and erasures of the vault tables that :class:`PostgresLedgerRecorder` writes."""

    def __init__(self, recorder: PostgresLedgerRecorder, cipher: LearnerCipher) -> None:
        super().__init__(cipher)
        self._datastore = recorder.datastore

    def _wrapped_keys(self, learner_refs: list[str]) -> dict[str, bytes]:
        # Every record of a learner carries the same key: the first found (see LOOKUPS).
        with _statements_alone(self._datastore) as c:
            c.execute(
                "SELECT p.learner_ref, p.wrapped_key FROM unnest(%s::text[]) AS wanted(ref)"
                " CROSS JOIN LATERAL (SELECT learner_ref, wrapped_key FROM personal_data"
                " WHERE learner_ref = wanted.ref LIMIT 1) AS p",
                (learner_refs,),
            )
            return {row["learner_ref"]: bytes(row["wrapped_key"]) for row in c.fetchall()}

    def held(self, commitments: list[str]) -> set[str]:
        # Asked of every anchored batch: the rows' presence, without their ciphertexts.
        with _statements_alone(self._datastore) as c:
            c.execute(
                "SELECT p.commitment FROM unnest(%s::text[]) AS wanted(commitment)"
                " CROSS JOIN LATERAL (SELECT commitment FROM personal_data"
                " WHERE commitment = wanted.commitment LIMIT 1) AS p",
                (commitments,),
            )
            return {row["commitment"] for row in c.fetchall()}

    def erasures(self) -> int:
        with _statements_alone(self._datastore) as c:
            c.execute("SELECT erasures FROM vault_erasures WHERE id = 1")
            row = c.fetchone()
        return int(row["erasures"]) if row else 0

    def _load(self, commitments: list[str]) -> dict[str, tuple[str, bytes, bytes]]:
        with _statements_alone(self._datastore) as c:
            c.execute(
                "SELECT p.commitment, p.learner_ref, p.ciphertext, p.wrapped_key"
                " FROM unnest(%s::text[]) AS wanted(commitment) CROSS JOIN LATERAL"
                " (SELECT commitment, learner_ref, ciphertext, wrapped_key FROM personal_data"
                " WHERE commitment = wanted.commitment LIMIT 1) AS p",
                (commitments,),
            )
            rows = c.fetchall()
        return {
            row["commitment"]: (
                row["learner_ref"],
                bytes(row["ciphertext"]),
                bytes(row["wrapped_key"]),
            )
            for row in rows
        }

    def credentials_of(self, learner_ref: str) -> list[str]:
        with _statements_alone(self._datastore) as c:
            c.execute(
                "SELECT DISTINCT credential_id FROM personal_data WHERE learner_ref = %s"
                " ORDER BY credential_id",
                (learner_ref,),
            )
            return [row["credential_id"] for row in c.fetchall()]

    def erase(self, learner_ref: str) -> None:
        self.forget([learner_ref])
        with self._datastore.transaction(commit=True) as c:
            # Waits for writes that found this learner's key held, and holds off those that
            # have yet to look (see credledger_hold_learner_keys); the delete, a statement of
            # its own, then sees what they wrote.
            c.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LEARNER_LOCKS, learner_ref)
            )
            c.execute("DELETE FROM personal_data WHERE learner_ref = %s", (learner_ref,))

    def spend_read(self, nonce: str, now: float, expires: float) -> bool:
        with self._datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM spent_reads WHERE expires < %s", (now,))
            c.execute(
                "INSERT INTO spent_reads VALUES (%s, %s) ON CONFLICT (nonce) DO NOTHING",
                (nonce, expires),
            )
            return bool(c.rowcount == 1)


def conninfo(settings: Settings) -> str:
    return (
        f"host={settings.postgres_host} port={settings.postgres_port} "
        f"dbname={settings.postgres_dbname} user={settings.postgres_user} "
        f"password={settings.postgres_password.get_secret_value()}"
    )


# The channel projectors announce the read model's position on (its payload: the position).
POSITION_CHANNEL = "credledger_read_model_position"


class _Listener:
    """LISTEN on one channel, on a connection of its own."""

    def __init__(self, conninfo: str, connect_timeout: int, channel: str) -> None:
        self._conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._channel = channel
        self._connection: psycopg.Connection[Any] | None = None

    def _listen(self) -> bool:
        """Listen if not listening yet; whether listening started now."""
        if self._connection is not None and not self._connection.closed:
            return False
        self._connection = psycopg.connect(
            self._conninfo, autocommit=True, connect_timeout=self._connect_timeout
        )
        self._connection.execute(SQL("LISTEN {}").format(Identifier(self._channel)))
        return True

    def _payloads(self, timeout: float) -> list[str]:
        """What was announced, waiting up to ``timeout`` seconds for the first."""
        assert self._connection is not None
        heard = list(self._connection.notifies(timeout=timeout, stop_after=1))
        if heard:
            # Whatever else has arrived too, so that one wake-up answers them all.
            heard += self._connection.notifies(timeout=0)
        return [notice.payload for notice in heard]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresPositionNotices(_Listener):
    """The positions projectors announce."""

    def __init__(self, conninfo: str, connect_timeout: int) -> None:
        super().__init__(conninfo, connect_timeout, POSITION_CHANNEL)

    def receive(self, timeout: float) -> list[int]:
        self._listen()
        return [int(payload) for payload in self._payloads(timeout)]


class PostgresEventNotices(_Listener):
    """The event store's announcements of its inserts (on the recorder's own channel)."""

    def wait(self, timeout: float) -> None:
        if not self._listen():
            self._payloads(timeout)


class PostgresReadModel(ReadModel):
    def __init__(self, settings: Settings) -> None:
        self._conninfo = conninfo(settings)
        self._connect_timeout = settings.postgres_timeout_seconds
        self._column_types = ColumnTypes()
        self._pool = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=settings.postgres_pool_size,
            open=True,
            timeout=settings.postgres_timeout_seconds,
            reconnect_timeout=reconnect_within(settings.postgres_timeout_seconds),
            # Transactions are begun explicitly (see _cursor); a single statement runs alone.
            kwargs={"autocommit": True},
        )
        self.create_tables()

    def create_tables(self, *, indexed: bool = True) -> None:
        super().create_tables(indexed=indexed)
        with self._cursor(write=True) as c:
            c.execute(_in_byte_order("rm\\_%"))
            # After: a column's type set again loses its compression.
            c.execute(lz4_compressed((("rm_credential_versions", "content"),)))

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def _insert_rows(
        self, cursor: ReadModelCursor, table: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        copy_rows(cast(Cursor[Any], cursor), table, rows, self._column_types)

    def _taken_among(
        self, cursor: ReadModelCursor, issuer_id: str, list_no: int, indexes: Sequence[int]
    ) -> list[int]:
        # One lookup of the primary key an index (see LOOKUPS), the indexes one parameter.
        cursor.execute(
            "SELECT e.idx FROM unnest(%s::integer[]) AS wanted(idx) CROSS JOIN LATERAL"
            " (SELECT idx FROM rm_status_entries WHERE issuer_id = %s AND list_no = %s"
            " AND idx = wanted.idx LIMIT 1) AS e",
            (list(indexes), issuer_id, list_no),
        )
        return [int(row[0]) for row in cursor.fetchall()]

    @contextmanager
    def _cursor(self, *, write: bool) -> Iterator[ReadModelCursor]:
        with (
            self._pool.connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            yield cursor

    def _single_statement(self, *, write: bool) -> AbstractContextManager[ReadModelCursor]:
        # The relay moves its position after each batch it publishes, and the serving process
        # asks where the relay and the model are.
        return cast(AbstractContextManager[ReadModelCursor], statement_alone(self._pool))

    @contextmanager
    def _reading_cursor(self) -> Iterator[ReadModelCursor]:
        # A client-side cursor would receive every row of a table before the first page.
        with (
            self._pool.connection() as connection,
            connection.transaction(),
            connection.cursor(name="read_model_pages") as cursor,
        ):
            # One snapshot for every statement (a digest reads the position and then each
            # table): under READ COMMITTED each would see the commits made since the last.
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # The server cursor names execute's first parameter ``query``, nothing else differs.
            yield cast(ReadModelCursor, cursor)

    def close(self) -> None:
        self._pool.close()

    def _announce(self, cursor: ReadModelCursor, position: int) -> None:
        # Delivered to the listeners when the transaction commits, not before.
        cursor.execute("SELECT pg_notify(%s, %s)", (POSITION_CHANNEL, str(position)))

    def notices(self) -> PostgresPositionNotices:
        return PostgresPositionNotices(self._conninfo, self._connect_timeout)


def event_store_env(settings: Settings) -> dict[str, str]:
    """eventsourcing's configuration for the PostgreSQL event store."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "ledger.persistence.postgres:PostgresLedgerRecorder",
        "POSTGRES_HOST": settings.postgres_host,
        "POSTGRES_PORT": str(settings.postgres_port),
        "POSTGRES_DBNAME": settings.postgres_dbname,
        "POSTGRES_USER": settings.postgres_user,
        "POSTGRES_PASSWORD": settings.postgres_password.get_secret_value(),
        "POSTGRES_POOL_SIZE": str(settings.postgres_pool_size),
        # No connections beyond the pool (eventsourcing's default adds ten): a deployment's
        # processes must fit the server's max_connections, and the setting says how many.
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_CONNECT_TIMEOUT": str(settings.postgres_timeout_seconds),
    }


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Hold a cluster-wide lock while opening the stores: processes starting together (API
    workers, consumers) would otherwise race to create the same tables."""
    with psycopg.connect(conninfo(settings), autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(91620002)")
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(91620002)")


def open_read_model(settings: Settings) -> PostgresReadModel:
    return PostgresReadModel(settings)


class PostgresWalletSessions(WalletSessions):
    """OpenID4VCI issuance state in the event store's database."""

    def __init__(self, recorder: PostgresLedgerRecorder) -> None:
        super().__init__()
        self._datastore = recorder.datastore

    def _transaction(self, *, commit: bool = True) -> AbstractContextManager[Any]:
        # What is not committed is a read (see _statements_alone).
        if not commit:
            return _statements_alone(self._datastore)
        return self._datastore.transaction(commit=True)

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")


def open_wallet_sessions(recorder: Any) -> PostgresWalletSessions:
    if not isinstance(recorder, PostgresLedgerRecorder):
        raise TypeError("the wallet sessions need the ledger's Postgres recorder")
    return PostgresWalletSessions(recorder)


def open_vault(recorder: Any, cipher: LearnerCipher) -> PostgresVault:
    if not isinstance(recorder, PostgresLedgerRecorder):
        raise TypeError("the PostgreSQL vault needs the ledger's PostgreSQL recorder")
    return PostgresVault(recorder, cipher)


def open_event_notices(settings: Settings, recorder: Any) -> PostgresEventNotices:
    if not isinstance(recorder, PostgresLedgerRecorder):
        raise TypeError("the event notices need the ledger's PostgreSQL recorder")
    return PostgresEventNotices(
        conninfo(settings), settings.postgres_timeout_seconds, recorder.channel_name
    )


def open_log_store(settings: Settings) -> PostgresLogStore:
    return PostgresLogStore(
        conninfo(settings),
        settings.postgres_pool_size,
        settings.postgres_timeout_seconds,
        reconnect_within(settings.postgres_timeout_seconds),
    )


def open_anchor_store(log_store: PostgresLogStore) -> PostgresAnchorStore:
    return PostgresAnchorStore(log_store)
