"""A read model on PostgreSQL orders its text as SQLite does, byte by byte, whatever collation
its database was made with. The audit replays the log into a SQLite model and compares the two
digests, each read in key order: in a database made with a linguistic collation (the default on
many hosts), case folded and punctuation passed over at first, an issuer's wallet keys, whose
kids are base64url, came out in another order, and a faithful read model failed its audit. A
model made before is brought to byte order when it is opened."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from ledger.persistence.postgres import PostgresReadModel
from ledger.persistence.read_model import ReadModel
from ledger.persistence.sqlite import SQLiteReadModel
from ledger.settings import Settings
from tests.conftest import PG_PORT, STORE, _admin_sql

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="PostgreSQL's collations")

ISSUER = "7a9f3c2e-0000-4000-8000-000000000001"
# Thumbprints as an issuer's rotations might adopt them: byte order puts upper case first,
# then "_", then lower case; a linguistic order puts "_" first and folds case.
KIDS = (
    "Zq1vE8pXb0cV9mN2aL4kJ7hG6fD5sA3wQ1eR8tY0uIo",
    "_3kPqW9zXc8vB7nM6aS5dF4gH3jK2lL1qW0eR9tY8uI",
    "aB4nC7xZ2qW9eR1tY8uI5oP3lK6jH0gF4dS7aZ2xCv0",
    "b-9QwE3rT6yU1iO4pA7sD0fG2hJ5kL8zX1cV4bN7mQ2",
)


@pytest.fixture
def linguistic_database() -> Iterator[Callable[[Path], Settings]]:
    """Settings of a fresh database whose default collation is ICU's English."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    _admin_sql(
        f"CREATE DATABASE {name} OWNER credledger TEMPLATE template0"
        " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    )

    def settings(data_dir: Path) -> Settings:
        fields: dict[str, Any] = {
            "store": "postgres",
            "postgres_port": PG_PORT,
            "postgres_dbname": name,
            "postgres_user": "credledger",
            "postgres_password": "credledger",
        }
        return Settings(data_dir=data_dir, **fields)

    try:
        yield settings
    finally:
        _admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _adopt_wallet_keys(model: ReadModel) -> None:
    with model.transaction(0, len(KIDS)) as writer:
        for position, kid in enumerate(KIDS, start=1):
            at = f"2026-12-0{position}T10:00:00Z"
            writer.wallet_key_adopted(ISSUER, at, position, kid, {"kty": "EC", "kid": kid})


def _sqlite_digest(tmp_path: Path) -> str:
    with closing(SQLiteReadModel(tmp_path / "replay.sqlite", durable=False)) as replayed:
        _adopt_wallet_keys(replayed)
        return replayed.digest()[0]


def test_a_read_model_in_a_linguistically_collated_database_digests_as_a_sqlite_replay(
    linguistic_database: Callable[[Path], Settings], tmp_path: Path
) -> None:
    with closing(PostgresReadModel(linguistic_database(tmp_path))) as live:
        _adopt_wallet_keys(live)
        assert live.digest()[0] == _sqlite_digest(tmp_path)


def test_a_read_model_made_in_its_databases_collation_is_brought_to_byte_order_when_opened(
    linguistic_database: Callable[[Path], Settings], tmp_path: Path
) -> None:
    settings = linguistic_database(tmp_path)
    replayed = _sqlite_digest(tmp_path)
    with closing(PostgresReadModel(settings)) as earlier:
        _adopt_wallet_keys(earlier)
        with earlier._cursor(write=True) as c:
            c.execute('ALTER TABLE rm_wallet_keys ALTER COLUMN kid TYPE TEXT COLLATE "default"')
        assert earlier.digest()[0] != replayed
    with closing(PostgresReadModel(settings)) as reopened:
        assert reopened.digest()[0] == replayed


def test_every_text_column_of_the_read_model_compares_bytes(
    linguistic_database: Callable[[Path], Settings], tmp_path: Path
) -> None:
    with (
        closing(PostgresReadModel(linguistic_database(tmp_path))) as model,
        model._cursor(write=False) as c,
    ):
        c.execute(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name LIKE 'rm\\_%'"
            " AND data_type = 'text'"
        )
        columns = c.fetchall()
    assert len(columns) > 50
    assert {collation for _, _, collation in columns} == {"C"}
