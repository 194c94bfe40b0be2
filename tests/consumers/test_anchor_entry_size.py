"""The event that records a batch's anchor names every document of the batch; at the largest
batch the settings allow, with the longest public URL, it still fits one log entry, which a
tlog-tiles entry bundle can carry (65,535 bytes)."""

from __future__ import annotations

import json

import pytest

from anchors.tlog_tiles import MAX_ENTRY_BYTES
from ledger.settings import MAX_BATCH_SIZE, Settings
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    wait_for,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    longest = "https://" + "l" * (2048 - len("https://.example")) + ".example"
    return settings.model_copy(update={"batch_size": MAX_BATCH_SIZE, "public_url": longest})


def test_the_anchor_of_a_full_batch_fits_one_log_entry(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    bodies = [
        issuer.signer.issue(content(), {**LEARNER, "identifier": f"full-{i}"})
        for i in range(MAX_BATCH_SIZE)
    ]
    assert all(result["ok"] for result in ledger.public.bulk_issue(bodies))
    wait_for(lambda: anchored_everything(ledger), timeout=120)
    log = ledger.embedded.storage.log
    entries = log.store.entries(0, log.size())
    anchors = [json.loads(e) for e in entries if b'"type":"BatchAnchor.Anchored"' in e]
    # A full batch: its room shared only with the register's and the anchoring key's events.
    assert max(len(a["content"]["documents"]) for a in anchors) >= MAX_BATCH_SIZE - 5
    assert max(len(entry) for entry in entries) <= MAX_ENTRY_BYTES
