"""The read model's schema: a credential's place in its status list is in its own row and a
document is found by its id, with no index by credential for either; a read model made with
the earlier schema (those two indexes, the place in the status entry alone) is brought to
this one when it is opened, its rows and digest as a replay makes them."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from ledger.formats.blockcerts.document import document_id
from ledger.persistence.read_model import ReadModel
from ledger.persistence.sqlite import SQLiteReadModel

ISSUER = "7a9f3c2e-0000-4000-8000-000000000001"
CREDENTIALS = [f"5b1d0a7e-0000-5000-8000-{n:012d}" for n in range(1, 6)]
EARLIER_INDEXES = {
    "rm_status_entries_by_credential": "rm_status_entries (credential_id)",
    "rm_documents_by_version": "rm_documents (credential_id, version)",
}


def _content(n: int) -> dict[str, Any]:
    return {
        "title": f"Module {n}",
        "issued": "2026-12-01",
        "learner": {"commitment": f"{n:064x}"},
    }


def _fill(model: ReadModel) -> None:
    """Five credentials, the first amended once, every version's document anchored."""
    at = "2026-12-01T10:00:00Z"
    with model.transaction(0, 7) as writer:
        for n, credential_id in enumerate(CREDENTIALS, start=1):
            writer.credential_version(credential_id, ISSUER, 1, "issued", _content(n), at, n)
        writer.credential_version(CREDENTIALS[0], ISSUER, 2, "amended", _content(9), at, 6)
        versions = [(c, 1) for c in CREDENTIALS] + [(CREDENTIALS[0], 2)]
        anchored = SimpleNamespace(
            public_url="https://ledger.example/anchors/1",
            documents=[
                {
                    "document_id": document_id(credential_id, version),
                    "issuer_id": ISSUER,
                    "credential_id": credential_id,
                    "version": version,
                    "leaf_index": leaf,
                }
                for leaf, (credential_id, version) in enumerate(versions)
            ],
        )
        writer.documents_anchored(6, anchored)


def _make_earlier(model: ReadModel) -> None:
    """Bring a read model back to the earlier schema."""
    with model._cursor(write=True) as c:
        c.execute("ALTER TABLE rm_credentials DROP COLUMN status_list")
        c.execute("ALTER TABLE rm_credentials DROP COLUMN status_index")
        for name, on in EARLIER_INDEXES.items():
            c.execute(f"CREATE UNIQUE INDEX {name} ON {on}")


def _indexes(model: ReadModel) -> set[str]:
    with model._cursor(write=False) as c:
        if isinstance(model, SQLiteReadModel):
            c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        else:
            c.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        return {str(row[0]) for row in c.fetchall()}


def test_a_credential_s_place_in_its_status_list_is_read_from_its_row(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    model = fresh_read_model("places")
    _fill(model)
    with model._cursor(write=False) as c:
        c.execute("SELECT credential_id, list_no, idx FROM rm_status_entries")
        entries = {row[0]: (row[1], row[2]) for row in c.fetchall()}

    for credential_id in CREDENTIALS:
        place = model.status_entry(credential_id)
        assert place is not None
        assert (place["issuer_id"], place["list_no"], place["index"]) == (
            ISSUER,
            *entries[credential_id],
        )


def test_a_document_is_found_by_its_id_with_its_credential_and_version(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    model = fresh_read_model("documents")
    _fill(model)

    found = model.document(document_id(CREDENTIALS[0], 2))

    assert found is not None
    assert (found["credential_id"], found["version"], found["leaf_index"]) == (
        CREDENTIALS[0],
        2,
        5,
    )
    assert model.document(document_id(CREDENTIALS[0], 3)) is None


def test_no_index_finds_status_entries_or_documents_by_credential(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    assert not _indexes(fresh_read_model("fresh")) & set(EARLIER_INDEXES)


def test_a_read_model_of_the_earlier_schema_opens_as_a_replay_would_make_it(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    model = fresh_read_model("earlier")
    _fill(model)
    digest = model.digest()
    places = {c: model.status_entry(c) for c in CREDENTIALS}
    _make_earlier(model)
    assert model.digest() != digest

    reopened = fresh_read_model("earlier")

    assert reopened.digest() == digest
    assert {c: reopened.status_entry(c) for c in CREDENTIALS} == places
    assert not _indexes(reopened) & set(EARLIER_INDEXES)
