"""The event store and the read model are made with 2 KB pages: a credential's event of some
2.1 KB no longer takes a 4 KB page of its own, and each key a credential adds at random costs
half the bytes to write. Stores made before with SQLite's default pages keep them and work on."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from ledger.application.storage import Storage, open_storage
from ledger.client import CommandSigner
from ledger.domain import samples
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.signing import IssuerKey
from ledger.persistence.sqlite import EVENTS_PAGE_BYTES, READ_MODEL_PAGE_BYTES, SQLiteReadModel
from ledger.settings import Settings, create_secrets

LEARNER = {"identifier": "learner-1", "full_name": "Ada Example"}


def _page_size(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA page_size").fetchone()[0])


def _issue(storage: Storage, count: int) -> None:
    key = IssuerKey.generate()
    issuer = storage.ledger.register_issuer(
        IssuerRegistration(**samples.issuer_registration(key.address))
    )
    signer = CommandSigner(key, str(issuer.id))
    content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
    commands = [SignedCommand(**signer.issue(content, LEARNER)) for _ in range(count)]
    assert all(not isinstance(o, Exception) for o in storage.ledger.issue_many(commands))


def test_a_new_event_store_is_made_with_2_kb_pages(sqlite_storage: Storage, tmp_path: Path) -> None:
    assert EVENTS_PAGE_BYTES == 2_048
    assert _page_size(tmp_path / "events.sqlite") == EVENTS_PAGE_BYTES


def test_a_new_read_model_is_made_with_2_kb_pages(sqlite_storage: Storage, tmp_path: Path) -> None:
    assert READ_MODEL_PAGE_BYTES == 2_048
    assert _page_size(tmp_path / "read-model.sqlite") == READ_MODEL_PAGE_BYTES


def test_an_auditors_scratch_model_has_the_same_pages(tmp_path: Path) -> None:
    SQLiteReadModel(tmp_path / "scratch.sqlite", durable=False, temporary=True)
    assert _page_size(tmp_path / "scratch.sqlite") == READ_MODEL_PAGE_BYTES


def test_the_event_store_stays_in_write_ahead_log_mode(
    sqlite_storage: Storage, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "events.sqlite") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_credentials_events_do_not_take_a_4_kb_page_each(
    sqlite_storage: Storage, tmp_path: Path
) -> None:
    _issue(sqlite_storage, 300)
    with sqlite3.connect(tmp_path / "events.sqlite") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        event_bytes = connection.execute(
            "SELECT sum(length(state)) FROM stored_events WHERE topic LIKE '%Credential.Issued'"
        ).fetchone()[0]
    # Each event is some 2 KB, with its key and topic too large for two to share a 4 KB page.
    assert event_bytes > 300 * 2_000
    assert pages * EVENTS_PAGE_BYTES < 300 * 4_096


def test_an_event_store_made_with_4_kb_pages_keeps_them_and_works_on(tmp_path: Path) -> None:
    create_secrets(tmp_path)
    with sqlite3.connect(tmp_path / "events.sqlite") as connection:
        connection.execute("PRAGMA page_size=4096")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE made_before (id INTEGER PRIMARY KEY)")
    storage = open_storage(Settings(data_dir=tmp_path, store="sqlite"))
    try:
        _issue(storage, 3)
        stored = storage.ledger.recorder.select_notifications(start=None, limit=10)
        assert [n.topic.rpartition(".")[2] for n in stored].count("Issued") == 3
    finally:
        storage.close()
    assert _page_size(tmp_path / "events.sqlite") == 4_096
