"""The events that record a batch's anchor name every leaf and document of the batch; a large
batch takes several events, so that every log entry fits a tlog-tiles entry bundle (65,535
bytes), whatever the batch size and however long the public URL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from anchors.tlog_tiles import MAX_ENTRY_BYTES
from consumers.envelope import entry
from ledger.domain.aggregates import LEAVES_PER_ANCHOR_EVENT, BatchAnchor
from ledger.settings import MAX_BATCH_SIZE, Settings
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    content,
    settled,
    wait_for,
)

LONGEST_URL = "https://" + "l" * (2048 - len("https://.example")) + ".example"
BATCH = 400


def largest_anchor() -> dict[str, Any]:
    """The anchorer's record of the largest batch the settings allow, with the longest public
    URL, a checkpoint note with ten cosignatures and the longest placements."""
    leaves = [f"{i:064x}" for i in range(MAX_BATCH_SIZE + 1)]
    documents = [
        {
            "document_id": f"urn:uuid:{uuid.uuid4()}",
            "issuer_id": str(uuid.uuid4()),
            "credential_id": str(uuid.uuid4()),
            "version": 2**31,
            "leaf_index": index,
        }
        for index in range(1, len(leaves))
    ]
    note = "credledger.example/log\n" + "9" * 19 + "\n" + "A" * 44 + "\n\n"
    note += "".join(f"— witness-{i}.example " + "B" * 100 + "\n" for i in range(11))
    return {
        "origin": "credledger.example/log",
        "checkpoint_size": 2**40,
        "checkpoint_note": note,
        "leaves": leaves,
        "root": "c" * 64,
        "chain_id": 11155111,
        "tx_hash": "0x" + "d" * 64,
        "block_number": 2**40,
        "block_hash": "0x" + "e" * 64,
        "block_time": 2**40,
        "sender": "0x" + "f" * 40,
        "documents": documents,
        "public_url": LONGEST_URL,
    }


def test_every_event_of_the_largest_anchor_fits_one_log_entry() -> None:
    events = BatchAnchor.record(largest_anchor()).collect_events()
    sizes = [len(entry(2**40 + i, event)) for i, event in enumerate(events)]
    assert len(events) == -(-(MAX_BATCH_SIZE + 1) // LEAVES_PER_ANCHOR_EVENT)
    assert max(sizes) <= MAX_ENTRY_BYTES


def test_an_anchor_in_parts_names_each_leaf_and_document_once_in_order() -> None:
    anchored = largest_anchor()
    first, *rest = BatchAnchor.record(anchored).collect_events()
    assert isinstance(first, BatchAnchor.AnchoredInParts)
    assert first.leaf_count == len(anchored["leaves"]) and first.parts == 1 + len(rest)
    assert all(isinstance(part, BatchAnchor.Placed) for part in rest)
    leaves = [leaf for event in (first, *rest) for leaf in event.leaves]
    documents = [d for event in (first, *rest) for d in event.documents]
    assert leaves == anchored["leaves"] and documents == anchored["documents"]
    assert [part.first_leaf for part in rest] == [
        LEAVES_PER_ANCHOR_EVENT * n for n in range(1, len(rest) + 1)
    ]


def test_an_anchor_of_few_leaves_is_one_anchored_event() -> None:
    anchored = largest_anchor()
    anchored["leaves"] = anchored["leaves"][:LEAVES_PER_ANCHOR_EVENT]
    anchored["documents"] = anchored["documents"][: LEAVES_PER_ANCHOR_EVENT - 1]
    (only,) = BatchAnchor.record(anchored).collect_events()
    assert type(only) is BatchAnchor.Anchored and only.leaves == anchored["leaves"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"batch_size": BATCH + 50, "batch_age_seconds": 2.0, "public_url": LONGEST_URL}
    )


@pytest.fixture
def large_batch(ledger: RunningLedger, issuer: RegisteredIssuer) -> list[str]:
    """A batch of 400 credentials (with the register's and anchoring key's events) anchored.

    One bulk request is one transaction: the log sees all 400 at once, so the batch age cannot
    close a smaller batch between requests on a slow machine."""
    bodies = [
        issuer.signer.issue(content(), {**LEARNER, "identifier": f"full-{i}"}) for i in range(BATCH)
    ]
    results = ledger.public.bulk_issue(bodies)
    assert all(result["ok"] for result in results)
    ids = [str(result["result"]["credential_id"]) for result in results]
    wait_for(lambda: settled(ledger.embedded), timeout=120)
    return ids


def logged(ledger: RunningLedger) -> list[bytes]:
    log = ledger.embedded.storage.log
    return log.store.entries(0, log.size())


def test_a_large_batch_is_anchored_in_parts_each_fitting_one_log_entry(
    ledger: RunningLedger, issuer: RegisteredIssuer, large_batch: list[str]
) -> None:
    # Anchoring's own events enter the log with the next batch that holds others.
    ledger.public.issue(issuer.signer.issue(content(), {**LEARNER, "identifier": "next"}))
    wait_for(lambda: any(b'"type":"BatchAnchor.Placed"' in e for e in logged(ledger)), timeout=60)
    entries = logged(ledger)
    kinds = [json.loads(e)["type"] for e in entries if b'"type":"BatchAnchor.' in e]
    assert "BatchAnchor.AnchoredInParts" in kinds and "BatchAnchor.Placed" in kinds
    assert max(len(e) for e in entries) <= MAX_ENTRY_BYTES


def test_every_document_of_a_batch_in_parts_is_served_with_its_proof(
    ledger: RunningLedger, issuer: RegisteredIssuer, large_batch: list[str]
) -> None:
    wanted = [{"credential_id": credential_id} for credential_id in large_batch[-100:]]
    items = ledger.public.documents(issuer.signer.read_documents(wanted))
    assert all("document" in item for item in items), [i.get("problem") for i in items[:3]]
    assert all(item["document"]["proof"]["proofValue"] for item in items)
