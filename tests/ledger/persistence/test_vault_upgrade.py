"""A vault written when the learners' keys had a table of their own opens with each key moved
beside its records (SQLite, and PostgreSQL in its pass): every record reads as before, the
erasure still destroys a learner's records and key, and opening it again changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application.storage import Storage, open_storage
from ledger.persistence.personal_data import OpenedRecord
from ledger.settings import Settings
from tests.ledger.persistence.conftest import issue_to

LEARNERS = ("learner-a", "learner-a", "learner-b")


def _rows(storage: Storage, sql: str) -> list[tuple[object, ...]]:
    with storage.vault._datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
        c.execute(sql)
        # PostgreSQL's rows are dictionaries; SQLite's iterate over their values.
        return [tuple(row.values() if isinstance(row, dict) else row) for row in c.fetchall()]


def _to_the_earlier_layout(storage: Storage, settings: Settings) -> None:
    """The tables as earlier versions made them: keys apart, and one record whose key is gone
    (which no read could open)."""
    blob = "BYTEA" if settings.store == "postgres" else "BLOB"
    with storage.vault._datastore.transaction(commit=True) as c:  # type: ignore[attr-defined]
        c.execute(
            f"CREATE TABLE learner_keys (learner_ref TEXT PRIMARY KEY, wrapped_key {blob} NOT NULL)"
        )
        c.execute(
            "INSERT INTO learner_keys SELECT DISTINCT learner_ref, wrapped_key FROM personal_data"
        )
        c.execute("ALTER TABLE personal_data DROP COLUMN wrapped_key")
        c.execute("INSERT INTO personal_data VALUES ('orphan', 'credential', 'nobody', 'sealed')")


@pytest.fixture
def upgraded(settings: Settings) -> Iterator[tuple[Storage, dict[str, OpenedRecord]]]:
    """A store upgraded from the earlier layout, and what its vault read before."""
    older = open_storage(settings)
    issue_to(older, LEARNERS)
    commitments = [str(row[0]) for row in _rows(older, "SELECT commitment FROM personal_data")]
    before = older.vault.get_many(commitments)
    _to_the_earlier_layout(older, settings)
    older.close()
    storage = open_storage(settings)
    yield storage, before
    storage.close()


def test_every_record_reads_as_it_did_before_the_upgrade(
    upgraded: tuple[Storage, dict[str, OpenedRecord]],
) -> None:
    storage, before = upgraded
    assert len(before) == 3
    assert storage.vault.get_many([*before, "orphan"]) == before
    assert storage.vault.held([*before, "orphan"]) == set(before)


def test_the_keys_table_is_gone_and_each_learners_records_share_their_key(
    upgraded: tuple[Storage, dict[str, OpenedRecord]],
) -> None:
    storage, _ = upgraded
    keys = _rows(storage, "SELECT DISTINCT learner_ref, wrapped_key FROM personal_data")
    assert len(keys) == 2
    with pytest.raises(Exception, match="learner_keys"):
        _rows(storage, "SELECT * FROM learner_keys")


def test_an_upgraded_learner_is_erased_with_their_key(
    upgraded: tuple[Storage, dict[str, OpenedRecord]],
) -> None:
    storage, before = upgraded
    erased = next(c for c, r in before.items() if r.learner["identifier"] == "learner-a")
    learner_ref = storage.vault.learner_of(erased)
    assert learner_ref is not None
    storage.vault.erase(learner_ref)
    kept = {c for c, r in before.items() if r.learner["identifier"] == "learner-b"}
    assert storage.vault.held(list(before)) == kept
    remaining = _rows(storage, "SELECT DISTINCT learner_ref FROM personal_data")
    assert remaining == [(storage.vault.learner_of(next(iter(kept))),)]


def test_opening_an_upgraded_store_again_changes_nothing(
    upgraded: tuple[Storage, dict[str, OpenedRecord]], settings: Settings
) -> None:
    _, before = upgraded
    again = open_storage(settings)
    try:
        assert again.vault.get_many(list(before)) == before
    finally:
        again.close()
