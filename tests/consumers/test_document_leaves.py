"""Document leaves hashed ahead, in a separate process, while their batch fills: a batch
anchors exactly the leaves it would have got by hashing everything at its close."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from anchors.jsonld import document_hash
from consumers import document_leaves
from consumers.document_leaves import DocumentLeaves
from ledger.formats.blockcerts.anchor_batches import (
    document_sources,
    issuer_profile_url,
    place_documents,
)
from ledger.formats.blockcerts.document import credential_document
from ledger.settings import MAX_BATCH_SIZE, Settings, create_secrets
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    issue,
    wait_for,
)


@pytest.fixture
def settings(tmp_path: Path, database: Callable[[], dict[str, Any]]) -> Settings:
    create_secrets(tmp_path / "data")
    # No batch closes by itself here: the tests take batches by hand.
    return Settings(
        data_dir=tmp_path / "data",
        chain="in-process",
        batch_size=MAX_BATCH_SIZE,
        batch_age_seconds=3600,
        **database(),
    )


@pytest.fixture
def leaves(ledger: RunningLedger) -> Iterator[DocumentLeaves]:
    storage = ledger.embedded.storage
    prepared = DocumentLeaves(storage.ledger, storage.log, ledger.url, processes=1)
    yield prepared
    prepared.close()


def _issue_several(ledger: RunningLedger, issuer: RegisteredIssuer, count: int) -> list[str]:
    return [
        issue(ledger, issuer, learner={**LEARNER, "identifier": f"leaves-{i}"})
        for i in range(count)
    ]


def _logged(ledger: RunningLedger) -> int:
    """The log's size once it holds every stored event."""
    storage = ledger.embedded.storage
    wait_for(lambda: storage.log.position() == storage.ledger.recorder.max_notification_id())
    return storage.log.size()


def _at_close(ledger: RunningLedger, start: int, end: int) -> tuple[list[bytes], list[Any]]:
    """What hashing everything at batch close gives for entries ``start`` to ``end``."""
    storage = ledger.embedded.storage
    positions = storage.log.store.positions(start, end)
    sources = document_sources(storage.ledger, positions, ledger.url)
    return place_documents(sources, [document_hash(source.document()) for source in sources])


def test_leaves_hashed_ahead_are_those_hashed_at_batch_close(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    ids = _issue_several(ledger, issuer, 5)
    ledger.public.amend(issuer.signer.amend(ids[2], 1, content(title="Renamed"), LEARNER))
    size = _logged(ledger)
    leaves.ahead(0, size)
    taken = leaves.take(0, size)
    assert taken == _at_close(ledger, 0, size)
    assert [d["version"] for d in taken[1]] == [1, 1, 1, 1, 1, 2]
    assert [d["leaf_index"] for d in taken[1]] == [1, 2, 3, 4, 5, 6]


def test_a_recipe_builds_the_document_the_credentials_own_history_gives(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    ids = _issue_several(ledger, issuer, 2)
    ledger.public.amend(issuer.signer.amend(ids[1], 1, content(title="Renamed"), LEARNER))
    size = _logged(ledger)
    storage = ledger.embedded.storage
    sources = document_sources(storage.ledger, storage.log.store.positions(0, size), ledger.url)
    assert [(s.recipe.credential_id, s.recipe.version) for s in sources] == [
        (ids[0], 1),
        (ids[1], 1),
        (ids[1], 2),
    ]
    for source in sources:
        credential: Any = storage.ledger.repository.get(UUID(source.recipe.credential_id))
        command = credential.versions[source.recipe.version - 1]
        opened = storage.vault.get(command["content"]["learner"]["commitment"])
        assert opened is not None
        assert source.document() == credential_document(
            credential_id=source.recipe.credential_id,
            version=source.recipe.version,
            content=command["content"],
            learner=opened.learner,
            salt=opened.salt,
            issuer_profile_url=issuer_profile_url(ledger.url, issuer.issuer_id),
        )


def test_a_recipe_made_for_another_learner_than_its_stored_event_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    _issue_several(ledger, issuer, 1)
    size = _logged(ledger)
    storage = ledger.embedded.storage
    (source,) = document_sources(storage.ledger, storage.log.store.positions(0, size), ledger.url)
    with pytest.raises(ValueError, match="another learner or issuer"):
        source.recipe._replace(commitment="0" * 64).document()


def test_a_batch_takes_its_own_entries_and_leaves_the_rest_for_the_next(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    _issue_several(ledger, issuer, 3)
    middle = _logged(ledger)
    _issue_several(ledger, issuer, 2)
    size = _logged(ledger)
    leaves.ahead(0, size)
    assert leaves.take(0, middle) == _at_close(ledger, 0, middle)
    assert leaves.take(middle, size) == _at_close(ledger, middle, size)


def test_a_learner_erased_after_preparation_gets_no_leaf(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    ids = _issue_several(ledger, issuer, 3)
    size = _logged(ledger)
    leaves.ahead(0, size)
    ledger.public.erase(issuer.signer.erase(ids[1], 1))
    leaf_hashes, documents = leaves.take(0, size)
    assert [d["credential_id"] for d in documents] == [ids[0], ids[2]]
    assert (leaf_hashes, documents) == _at_close(ledger, 0, size)


def test_a_learner_erased_between_two_preparations_of_a_batch_gets_no_leaf(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    ids = _issue_several(ledger, issuer, 2)
    leaves.ahead(0, _logged(ledger))
    ledger.public.erase(issuer.signer.erase(ids[0], 1))
    _issue_several(ledger, issuer, 2)
    size = _logged(ledger)
    leaves.ahead(0, size)
    leaf_hashes, documents = leaves.take(0, size)
    assert ids[0] not in [d["credential_id"] for d in documents]
    assert (leaf_hashes, documents) == _at_close(ledger, 0, size)


def test_a_batch_nothing_was_erased_from_since_preparation_asks_the_vault_nothing_more(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    leaves: DocumentLeaves,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _issue_several(ledger, issuer, 3)
    size = _logged(ledger)
    leaves.ahead(0, size)
    expected = _at_close(ledger, 0, size)

    def asked(commitments: list[str]) -> set[str]:
        raise AssertionError("the vault was asked which records it holds")

    monkeypatch.setattr(ledger.embedded.storage.vault, "held", asked)
    assert leaves.take(0, size) == expected


def test_the_process_keeping_the_log_builds_documents_from_the_log_it_read(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    _issue_several(ledger, issuer, 3)
    _logged(ledger)
    ledger.embedded.log_consumer.close_batch()
    wait_for(lambda: anchored_everything(ledger))
    window = ledger.embedded.recent_notifications
    assert window is not None and window.answered > 0


def test_a_killed_hashing_process_costs_nothing_but_time(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    _issue_several(ledger, issuer, 2)
    leaves.ahead(0, _logged(ledger))
    pool = leaves._pool
    assert pool is not None
    for process in list(pool._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
    _issue_several(ledger, issuer, 2)
    size = _logged(ledger)
    leaves.ahead(0, size)
    assert leaves.take(0, size) == _at_close(ledger, 0, size)
    assert leaves._pool is None or leaves._pool is not pool


def test_preparation_stops_at_its_limit_and_a_batch_past_it_is_still_whole(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    leaves: DocumentLeaves,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(document_leaves, "AHEAD_LIMIT", 2)
    _issue_several(ledger, issuer, 3)
    size = _logged(ledger)
    leaves.ahead(0, size)
    assert leaves._through == 2
    assert leaves.take(0, size) == _at_close(ledger, 0, size)


def test_a_preparation_asked_for_a_few_entries_prepares_no_more_and_the_next_goes_on(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    _issue_several(ledger, issuer, 3)
    size = _logged(ledger)
    leaves.ahead(0, size, most=1)
    assert leaves._through == 1
    leaves.ahead(0, size, most=1)
    assert leaves._through == 2
    assert leaves.take(0, size) == _at_close(ledger, 0, size)


def test_a_few_entries_past_a_new_start_are_counted_from_that_start(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    _issue_several(ledger, issuer, 3)
    size = _logged(ledger)
    leaves.ahead(0, size)
    leaves.ahead(2, size, most=1)
    assert leaves._through == 3
    assert leaves.take(2, size) == _at_close(ledger, 2, size)


def test_entries_the_hashing_has_not_reached_are_behind(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    _issue_several(ledger, issuer, 3)
    size = _logged(ledger)
    leaves.ahead(0, 1)
    wait_for(lambda: leaves.waiting() == 0)
    assert leaves.behind(size) == size - 1


def test_nothing_is_behind_once_every_entry_is_hashed(
    ledger: RunningLedger, issuer: RegisteredIssuer, leaves: DocumentLeaves
) -> None:
    _issue_several(ledger, issuer, 3)
    size = _logged(ledger)
    leaves.ahead(0, size)
    wait_for(lambda: leaves.waiting() == 0)
    assert leaves.behind(size) == 0


def test_entries_held_past_the_limit_for_the_chain_are_not_behind(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    leaves: DocumentLeaves,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(document_leaves, "AHEAD_LIMIT", 2)
    _issue_several(ledger, issuer, 3)
    size = _logged(ledger)
    leaves.ahead(0, size)
    wait_for(lambda: leaves.waiting() == 0)
    assert size > 2 and leaves.behind(size) == 0
