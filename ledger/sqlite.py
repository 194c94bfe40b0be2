"""The embedded SQLite backend for the read model and the personal-data vault.

The event store itself is eventsourcing's SQLite recorder; these tables sit in their own files
beside it so that the read model can be dropped and rebuilt without touching history.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.personal_data import LearnerCipher, LearnerKeyRace, PersonalDataVault, SealedRecord
from ledger.read_model import Cursor, ReadModel
from ledger.settings import Settings

_VAULT_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS learner_keys ("
    " learner_ref TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS personal_data ("
    " commitment TEXT PRIMARY KEY, credential_id TEXT NOT NULL,"
    " learner_ref TEXT NOT NULL, ciphertext BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS personal_data_by_learner ON personal_data (learner_ref)",
)


class _Connections:
    """One connection per thread to one database file, in WAL mode."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
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


class SQLiteReadModel(ReadModel):
    def __init__(self, path: Path) -> None:
        self._connections = _Connections(path)
        self.create_tables()

    @contextmanager
    def _cursor(self, *, write: bool) -> Iterator[Cursor]:
        with self._connections.cursor(write=write) as cursor:
            yield cursor


class SQLiteVault(PersonalDataVault):
    def __init__(self, path: Path, cipher: LearnerCipher) -> None:
        super().__init__(cipher)
        self._connections = _Connections(path)
        with self._connections.cursor(write=True) as c:
            for statement in _VAULT_SCHEMA:
                c.execute(statement)

    def _wrapped_keys(self, learner_refs: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._connections.cursor(write=False) as c:
            for start in range(0, len(learner_refs), 500):
                chunk = learner_refs[start : start + 500]
                c.execute(
                    "SELECT learner_ref, wrapped_key FROM learner_keys"
                    f" WHERE learner_ref IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update(c.fetchall())
        return found

    def _store(self, new_keys: dict[str, bytes], sealed: list[SealedRecord]) -> None:
        with self._connections.cursor(write=True) as c:
            # A concurrent writer may have created the same learner's key a moment ago: keep
            # theirs and re-seal under it, so that one learner never has two keys.
            c.executemany(
                "INSERT INTO learner_keys VALUES (?, ?) ON CONFLICT (learner_ref) DO NOTHING",
                list(new_keys.items()),
            )
            if new_keys and c.rowcount != len(new_keys):
                raise LearnerKeyRace
            c.executemany(
                "INSERT INTO personal_data VALUES (?, ?, ?, ?)"
                " ON CONFLICT (commitment) DO UPDATE SET ciphertext = excluded.ciphertext,"
                " learner_ref = excluded.learner_ref, credential_id = excluded.credential_id",
                [(s.commitment, s.credential_id, s.learner_ref, s.ciphertext) for s in sealed],
            )

    def _load(self, commitment: str) -> tuple[str, bytes, bytes] | None:
        with self._connections.cursor(write=False) as c:
            c.execute(
                "SELECT p.learner_ref, p.ciphertext, k.wrapped_key FROM personal_data p"
                " JOIN learner_keys k ON k.learner_ref = p.learner_ref WHERE p.commitment = ?",
                (commitment,),
            )
            row = c.fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def credentials_of(self, learner_ref: str) -> list[str]:
        with self._connections.cursor(write=False) as c:
            c.execute(
                "SELECT DISTINCT credential_id FROM personal_data WHERE learner_ref = ?"
                " ORDER BY credential_id",
                (learner_ref,),
            )
            return [row[0] for row in c.fetchall()]

    def erase(self, learner_ref: str) -> None:
        with self._connections.cursor(write=True) as c:
            c.execute("DELETE FROM personal_data WHERE learner_ref = ?", (learner_ref,))
            c.execute("DELETE FROM learner_keys WHERE learner_ref = ?", (learner_ref,))


def event_store_env(settings: Settings) -> dict[str, str]:
    """eventsourcing's configuration for the SQLite event store."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(settings.events_db),
        "SQLITE_LOCK_TIMEOUT": "30",
    }


def open_read_model(settings: Settings) -> SQLiteReadModel:
    return SQLiteReadModel(settings.read_model_db)


def open_vault(settings: Settings, cipher: LearnerCipher) -> SQLiteVault:
    return SQLiteVault(settings.events_db.with_name("vault.sqlite"), cipher)
