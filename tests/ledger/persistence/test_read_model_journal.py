"""How a read model's SQLite file journals: the live one ahead of its readers, copied back in
large steps; an auditor's scratch one, written by one connection only, without a write-ahead
log (its rollback journal in memory, or on disk when it is kept for the next audit) and
without the indexes only the API's queries read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ledger.persistence.sqlite import LIVE_CHECKPOINT_PAGES, SQLiteReadModel


def _journal_mode(model: SQLiteReadModel) -> str:
    with model._cursor(write=False) as cursor:
        return str(cursor.execute("PRAGMA journal_mode").fetchone()[0])


def test_the_live_read_model_is_written_ahead(tmp_path: Path) -> None:
    assert _journal_mode(SQLiteReadModel(tmp_path / "live.sqlite")) == "wal"


def test_the_live_read_model_copies_its_write_ahead_log_back_less_often(tmp_path: Path) -> None:
    model = SQLiteReadModel(tmp_path / "live.sqlite")
    with model._cursor(write=False) as cursor:
        pages = cursor.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert pages == LIVE_CHECKPOINT_PAGES > 1000


def test_a_temporary_scratch_model_journals_in_memory(tmp_path: Path) -> None:
    model = SQLiteReadModel(tmp_path / "scratch.sqlite", durable=False, temporary=True)

    assert _journal_mode(model) == "memory"
    assert not (tmp_path / "scratch.sqlite-wal").exists()


def test_a_kept_scratch_model_journals_on_disk(tmp_path: Path) -> None:
    model = SQLiteReadModel(tmp_path / "kept.sqlite", durable=False)

    assert _journal_mode(model) == "truncate"


def test_a_kept_scratch_model_an_earlier_audit_wrote_ahead_is_switched(tmp_path: Path) -> None:
    path = tmp_path / "kept.sqlite"
    earlier = sqlite3.connect(path)
    earlier.execute("PRAGMA journal_mode=WAL")
    earlier.close()

    assert _journal_mode(SQLiteReadModel(path, durable=False)) == "truncate"


def _indexes(model: SQLiteReadModel) -> set[str]:
    with model._cursor(write=False) as cursor:
        rows = cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
    return {str(row[0]) for row in rows}


def test_a_scratch_model_has_no_secondary_indexes(tmp_path: Path) -> None:
    live = SQLiteReadModel(tmp_path / "live.sqlite")
    scratch = SQLiteReadModel(tmp_path / "scratch.sqlite", durable=False, indexed=False)
    assert "rm_credentials_by_issuer" in _indexes(live)
    assert _indexes(scratch) == set()
