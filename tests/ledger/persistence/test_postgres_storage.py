"""How the ledger uses PostgreSQL's storage and planner (its pass). The large values it stores
(events, log entries, tiles, anchor records, credential versions) are compressed with LZ4,
which costs the server about half the CPU of its default (pglz); a store made before is
switched when it is opened. Lookups of many keys at once use the tables' indexes even before
PostgreSQL has statistics of them (a table that grows fast has none for up to a minute): a
plan left to the statistics scanned whole tables. Runs of rows are written with COPY in
binary, which reads back exactly as written, or writes nothing; a bulk write's personal data
goes in one statement; a write's transaction reaches the server at once, so the events table
is locked only while the server works; the log read onwards from a position comes in binary.
The server may be reached through its Unix socket, as processes on its machine reach it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from anchors.postgres import ColumnTypes, copy_rows
from ledger.application.storage import Storage, open_storage
from ledger.persistence.decided_on import DecidedOn
from ledger.persistence.personal_data import SealedBatch, SealedRecord
from ledger.persistence.postgres import PostgresLedgerRecorder, PostgresReadModel, conninfo
from ledger.persistence.read_model import ReadModel
from ledger.settings import Settings
from tests.conftest import STORE
from tests.ledger.persistence.conftest import issue_to
from tests.protocol_trace import messages_sent

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="PostgreSQL's own storage")

COLUMNS = (
    ("credledger_events", "state"),
    ("log_entries", "entry"),
    ("log_tiles", "data"),
    ("log_anchors", "record"),
    ("rm_credential_versions", "content"),
)


@pytest.fixture
def storage(settings: Settings) -> Iterator[Storage]:
    opened = open_storage(settings)
    try:
        yield opened
    finally:
        opened.close()


def test_the_event_stores_pool_holds_no_more_than_the_configured_connections(
    settings: Settings,
) -> None:
    opened = open_storage(settings.model_copy(update={"postgres_pool_size": 2}))
    try:
        recorder = opened.ledger.recorder
        assert isinstance(recorder, PostgresLedgerRecorder)
        assert recorder.datastore.pool.max_size == 2
    finally:
        opened.close()


def test_a_store_reached_through_the_servers_unix_socket_keeps_what_it_is_given(
    settings: Settings,
) -> None:
    # deploy/postgres.sh's cluster keeps its socket in /tmp (tests/run.sh starts it).
    opened = open_storage(settings.model_copy(update={"postgres_host": "/tmp"}))
    try:
        issue_to(opened, ["learner-1", "learner-2"])
        recorder = opened.ledger.recorder
        assert isinstance(recorder, PostgresLedgerRecorder)
        with recorder.datastore.pool.connection() as connection:
            # The server has no address on a connection through its socket.
            found = connection.execute("SELECT inet_server_addr() AS address").fetchone()
            assert found == {"address": None}
        assert len(recorder.select_notifications(start=1, limit=10)) == 3
    finally:
        opened.close()


def test_the_log_read_onwards_in_binary_is_the_librarys_read(storage: Storage) -> None:
    issue_to(storage, [f"learner-{n}" for n in range(5)])
    recorder = storage.ledger.recorder
    library = PostgresApplicationRecorder.select_notifications

    def fields(found: Sequence[Notification]) -> list[tuple[Any, ...]]:
        return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in found]

    onwards = recorder.select_notifications(start=2, limit=4, inclusive_of_start=False)
    assert fields(onwards) == fields(library(recorder, start=2, limit=4, inclusive_of_start=False))
    assert [n.id for n in onwards] == [3, 4, 5, 6]
    assert all(type(n.state) is bytes for n in onwards)


def _without_statistics(database: str, table: str, rows: str) -> None:
    """Fill ``table`` with 20,000 ``rows`` (a SELECT over ``n``), kept from ANALYZE."""
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
        connection.execute(f"INSERT INTO {table} {rows} FROM generate_series(1, 20000) AS n")
        found = connection.execute(
            "SELECT reltuples FROM pg_class WHERE relname = %s", (table,)
        ).fetchone()
        assert found == (-1,)  # never analysed


def _lookups(monkeypatch: pytest.MonkeyPatch, table: str) -> list[tuple[str, Any]]:
    """The queries of ``table`` sent through psycopg from now on, with their parameters."""
    sent: list[tuple[str, Any]] = []
    execute = psycopg.Cursor.execute

    def recording(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if isinstance(query, str) and query.startswith("SELECT") and table in query:
            sent.append((query, params))
        return execute(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recording)
    return sent


def _plan(database: str, query: str, params: Any) -> str:
    with psycopg.connect(database) as connection:
        rows = connection.execute(f"EXPLAIN {query}", params).fetchall()
    return "\n".join(row[0] for row in rows)


def _compression(settings: Settings) -> dict[tuple[str, str], str]:
    with psycopg.connect(conninfo(settings)) as connection:
        rows = connection.execute(
            "SELECT c.relname, a.attname, a.attcompression FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid WHERE (c.relname, a.attname) IN"
            f" ({', '.join(['(%s, %s)'] * len(COLUMNS))})",
            [part for column in COLUMNS for part in column],
        ).fetchall()
    return {(table, column): compression for table, column, compression in rows}


def test_the_large_columns_are_compressed_with_lz4(storage: Storage, settings: Settings) -> None:
    assert _compression(settings) == dict.fromkeys(COLUMNS, "l")


def test_an_issued_credentials_events_are_stored_lz4_compressed(
    storage: Storage, settings: Settings
) -> None:
    issue_to(storage, ["learner-a"])
    with psycopg.connect(conninfo(settings)) as connection:
        methods = connection.execute(
            "SELECT DISTINCT pg_column_compression(state) FROM credledger_events"
            " WHERE topic LIKE '%Issued%'"
        ).fetchall()
    assert methods == [("lz4",)]


def test_a_store_made_with_pglz_is_switched_when_opened(
    storage: Storage, settings: Settings
) -> None:
    with psycopg.connect(conninfo(settings), autocommit=True) as connection:
        for table, column in COLUMNS:
            connection.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION pglz")
    assert set(_compression(settings).values()) == {"p"}
    open_storage(settings).close()
    assert _compression(settings) == dict.fromkeys(COLUMNS, "l")


def test_the_status_list_probe_looks_each_place_up_before_the_table_has_statistics(
    fresh_read_model: Callable[[str], ReadModel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = fresh_read_model("probes")
    assert isinstance(model, PostgresReadModel)
    _without_statistics(
        model._conninfo,
        "rm_status_entries",
        "SELECT 'an-issuer', 0, n * 3, 'urn:uuid:' || n",
    )
    sent = _lookups(monkeypatch, "rm_status_entries")
    with model._cursor(write=False) as cursor:
        # As many places as a bulk request of 100 probes.
        taken = model._taken_among(cursor, "an-issuer", 0, list(range(1, 401)))
    assert taken == list(range(3, 401, 3))
    [(query, params)] = sent
    plan = _plan(model._conninfo, query, params)
    assert "Seq Scan" not in plan and "Filter" not in plan, plan
    assert "Index Only Scan using rm_status_entries_pkey" in plan, plan


def test_the_vaults_lookups_use_its_indexes_before_the_table_has_statistics(
    storage: Storage, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_statistics(
        conninfo(settings),
        "personal_data",
        "SELECT md5(n::text), 'urn:uuid:' || n, md5((n % 5000)::text), '\\x00', '\\x01'",
    )
    sent = _lookups(monkeypatch, "personal_data")
    # As many keys as a bulk request's learners and an anchored batch's commitments.
    issue_to(storage, [f"learner-{n}" for n in range(100)])  # the learners' keys looked up
    commitments = [f"{n:064x}" for n in range(1000)]
    storage.vault.held(commitments)
    storage.vault.get_many(commitments)
    assert len(sent) == 3, sent
    for query, params in sent:
        plan = _plan(conninfo(settings), query, params)
        assert "Seq Scan" not in plan and "Bitmap" not in plan, plan
        assert "Scan using personal_data" in plan, plan


def test_rows_copied_in_binary_read_back_as_written(settings: Settings) -> None:
    rows = [
        ("urn:uuid:1", 2**31 - 1, "évènement ✓", None, b"\x00\xff", 2**62),
        ("urn:uuid:2", -1, "", "x" * 5000, b"", 0),
    ]
    with psycopg.connect(conninfo(settings)) as connection:
        connection.execute(
            "CREATE TABLE copied (id TEXT PRIMARY KEY, n INTEGER NOT NULL, t TEXT NOT NULL,"
            " maybe TEXT, b BYTEA NOT NULL, big BIGINT NOT NULL)"
        )
        with connection.cursor() as cursor:
            copy_rows(cursor, "copied", rows, ColumnTypes())
        found = connection.execute("SELECT * FROM copied ORDER BY id").fetchall()
    assert found == rows


def test_a_copy_that_fails_writes_nothing(settings: Settings) -> None:
    with psycopg.connect(conninfo(settings)) as connection:
        connection.execute("CREATE TABLE copied (id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        connection.commit()
        with pytest.raises(psycopg.errors.UniqueViolation), connection.cursor() as cursor:
            copy_rows(cursor, "copied", [("a", 1), ("a", 2)], ColumnTypes())
        connection.rollback()
        assert connection.execute("SELECT count(*) FROM copied").fetchone() == (0,)


def test_a_bulk_writes_personal_data_goes_in_one_statement(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, Any]] = []
    for method in ("execute", "executemany"):
        original = getattr(psycopg.Cursor, method)

        def recording(
            self: Any, query: Any, params: Any = None, _original: Any = original, **kwargs: Any
        ) -> Any:
            if "INSERT INTO personal_data" in str(query):
                sent.append((str(query), params))
            return _original(self, query, params, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, method, recording)
    issue_to(storage, [f"learner-{n}" for n in range(50)])
    assert len(sent) == 1, sent
    commitments = sent[0][1][0]
    assert len(set(commitments)) == 50
    opened = storage.vault.get_many(commitments)
    assert sorted(record.learner["identifier"] for record in opened.values()) == sorted(
        f"learner-{n}" for n in range(50)
    )


@pytest.fixture
def one_connection(settings: Settings) -> Iterator[Storage]:
    """A store whose event recorder has one connection: every write goes through it."""
    opened = open_storage(settings.model_copy(update={"postgres_pool_size": 1}))
    try:
        yield opened
    finally:
        opened.close()


def events(count: int, originator: UUID | None = None, version: int = 1) -> list[StoredEvent]:
    return [
        StoredEvent(originator or uuid4(), version, "tests.Event", b'{"n":%d}' % n)
        for n in range(count)
    ]


def sealed(commitment: str) -> SealedBatch:
    return SealedBatch([SealedRecord(commitment, "urn:uuid:c", "r" * 64, b"data", b"key")], {}, [])


def test_a_writes_transaction_reaches_the_server_at_once(one_connection: Storage) -> None:
    recorder: Any = one_connection.ledger.recorder
    issuer = uuid4()
    recorder.insert_events(events(1, issuer))
    with messages_sent(recorder.datastore.pool) as sent:
        ids = recorder.insert_events(
            events(3), decided_on=DecidedOn({issuer: 1}), personal_data=sealed("c" * 64)
        )
    assert len(ids) == 3
    # BEGIN, the vault's insert, the lock, the issuer's check, NOTIFY, the events, COMMIT:
    # all sent before the one Sync, and nothing after it.
    assert sent.count("Sync") == 1
    assert sent[sent.index("Sync") :] in (["Sync"], ["Sync", "Flush"])


def prepared_statements(recorder: Any) -> list[str]:
    """What the recorder's one connection has prepared on the server."""
    with recorder.datastore.pool.connection() as connection:
        rows = connection.execute("SELECT statement FROM pg_prepared_statements").fetchall()
    return sorted(row["statement"] for row in rows)


READS: dict[str, Callable[[Storage], object]] = {
    "vault held": lambda s: s.vault.held(["e" * 64]),
    "vault records": lambda s: s.vault.get_many(["e" * 64]),
    "vault learner's credentials": lambda s: s.vault.credentials_of("r" * 64),
    "vault erasures": lambda s: s.vault.erasures(),
    "wallet nonces": lambda s: s.wallet_sessions.fresh_nonces(["n1", "n2"], 0.0),
    "wallet offer": lambda s: s.wallet_sessions.offer_for_token("t" * 64, 0.0),
}


@pytest.mark.parametrize("read", READS)
def test_a_read_keeps_what_its_connection_prepared(one_connection: Storage, read: str) -> None:
    recorder: Any = one_connection.ledger.recorder
    for _ in range(6):  # psycopg prepares a statement at its fifth run on a connection
        recorder.insert_events(events(1), personal_data=sealed(uuid4().hex * 2))
    before = prepared_statements(recorder)
    assert any("INSERT INTO personal_data" in statement for statement in before), before
    READS[read](one_connection)
    assert prepared_statements(recorder) == before


POSITIONS: dict[str, Callable[[ReadModel], object]] = {
    "the model's position": lambda m: m.position(),
    "a follower's position": lambda m: m.tracked("follower"),
    "a follower's start": lambda m: m.track("follower", 0, 5),
}


@pytest.mark.parametrize("step", POSITIONS)
def test_a_position_is_read_or_moved_in_one_statement_outside_a_transaction_block(
    one_connection: Storage, step: str
) -> None:
    model: Any = one_connection.read_model
    with messages_sent(model._pool) as sent:
        POSITIONS[step](model)
    # A simple query, or an extended query's messages ended by one Sync; no BEGIN or COMMIT.
    statements = [m for m in sent if m.startswith("Query") or m == "Sync"]
    assert len(statements) == 1, sent
    assert "BEGIN" not in statements[0], sent


def test_a_write_the_server_refuses_leaves_nothing_and_its_connection_ready(
    one_connection: Storage, settings: Settings
) -> None:
    recorder: Any = one_connection.ledger.recorder
    taken = uuid4()
    recorder.insert_events(events(1, taken))
    with pytest.raises(IntegrityError):
        recorder.insert_events([*events(1), *events(1, taken)], personal_data=sealed("d" * 64))
    assert len(recorder.insert_events(events(2))) == 2
    with psycopg.connect(conninfo(settings)) as connection:
        assert connection.execute("SELECT count(*) FROM personal_data").fetchone() == (0,)
        stored = connection.execute("SELECT count(*) FROM credledger_events").fetchone()
    assert stored == (3,)


def test_a_write_whose_issuer_moved_on_leaves_nothing(
    one_connection: Storage, settings: Settings
) -> None:
    recorder: Any = one_connection.ledger.recorder
    issuer = uuid4()
    recorder.insert_events([*events(1, issuer), *events(1, issuer, version=2)])
    with pytest.raises(IntegrityError):
        recorder.insert_events(events(2), decided_on=DecidedOn({issuer: 1}))
    with psycopg.connect(conninfo(settings)) as connection:
        stored = connection.execute("SELECT count(*) FROM credledger_events").fetchone()
    assert stored == (2,)


def test_of_a_writes_records_with_one_commitment_the_last_is_kept(
    storage: Storage, settings: Settings
) -> None:
    def record(credential_id: str) -> SealedRecord:
        return SealedRecord("c" * 64, credential_id, "r" * 64, credential_id.encode(), b"key")

    batch = SealedBatch([record("urn:uuid:first"), record("urn:uuid:last")], {}, [])
    recorder: Any = storage.ledger.recorder
    with recorder.datastore.transaction(commit=True) as cursor:
        recorder._insert_events(cursor, [], personal_data=batch)
    with psycopg.connect(conninfo(settings)) as connection:
        rows = connection.execute("SELECT credential_id, ciphertext FROM personal_data").fetchall()
    assert rows == [("urn:uuid:last", b"urn:uuid:last")]


def test_the_vaults_keys_compare_bytes_in_a_store_made_before_too(storage: Storage) -> None:
    recorder = storage.ledger.recorder
    assert isinstance(recorder, PostgresLedgerRecorder)

    def collations() -> set[str | None]:
        with recorder.datastore.pool.connection() as connection:
            rows = connection.execute(
                "SELECT collation_name FROM information_schema.columns"
                " WHERE table_name = 'personal_data' AND data_type = 'text'"
            ).fetchall()
        return {row["collation_name"] for row in rows}

    assert collations() == {"C"}
    with recorder.datastore.pool.connection() as connection:
        connection.execute(
            'ALTER TABLE personal_data ALTER COLUMN learner_ref TYPE TEXT COLLATE "default"'
        )
    assert collations() == {"C", None}
    recorder.create_table()
    assert collations() == {"C"}
