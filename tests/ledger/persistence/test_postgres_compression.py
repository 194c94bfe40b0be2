"""On PostgreSQL (its pass), the large values the ledger stores (events, log entries, tiles,
anchor records, credential versions) are compressed with LZ4, which costs the server about
half the CPU of its default (pglz); a store made before is switched when it is opened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from ledger.application.storage import Storage, open_storage
from ledger.client import CommandSigner
from ledger.domain import samples
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.signing import IssuerKey
from ledger.persistence.postgres import conninfo
from ledger.settings import Settings
from tests.conftest import STORE

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
    key = IssuerKey.generate()
    issuer = storage.ledger.register_issuer(
        IssuerRegistration(**samples.issuer_registration(key.address))
    )
    signer = CommandSigner(key, str(issuer.id))
    now = datetime.now(UTC).replace(microsecond=0)
    body = signer.issue(
        samples.credential_content(now), {"identifier": "learner-a", "full_name": "Learner A"}
    )
    [outcome] = storage.ledger.issue_many([SignedCommand(**body)])
    assert not isinstance(outcome, Exception), outcome
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
