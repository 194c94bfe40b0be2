"""Batches are anchored on a real Anvil node: one transaction each, its data the root."""

from __future__ import annotations

import pytest

from anchors.anchor_tree import AnchorTree, checkpoint_leaf
from anchors.anvil import ManagedAnvil, dev_account
from anchors.chain import BURN_ADDRESS
from ledger.domain.aggregates import BatchAnchor
from ledger.settings import Settings
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    issue,
    wait_for,
)


@pytest.fixture
def settings(anvil_settings: Settings) -> Settings:
    return anvil_settings


def test_each_batch_is_anchored_by_one_transaction_whose_data_is_the_root(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil
) -> None:
    for i in range(7):
        issue(ledger, issuer, learner={**LEARNER, "identifier": f"a{i}"})
    wait_for(lambda: anchored_everything(ledger))
    storage = ledger.embedded.storage
    chain = ledger.embedded.chain.chain
    checkpoints = storage.log.store.checkpoints(0, 100)
    records = [storage.anchors.get(size) for size, _ in checkpoints]
    anchored = [r for r in records if r is not None]
    assert [r.checkpoint_size for r in anchored] == [size for size, _ in checkpoints]
    sender = dev_account().address
    for record, (_, note) in zip(anchored, checkpoints, strict=True):
        leaves = [bytes.fromhex(leaf) for leaf in record.leaves]
        assert leaves[0] == checkpoint_leaf(note)
        assert len(leaves) == 1 + len(record.documents)
        assert record.root == AnchorTree.build(leaves).root.hex()
        assert record.tx_hash is not None
        mined = chain.transaction(record.tx_hash)
        assert mined is not None
        assert mined.to == BURN_ADDRESS and mined.value == 0
        assert mined.data == bytes.fromhex(record.root) and mined.chain_id == 31337
        assert mined.sender == sender
        assert len(record.attempts) == 1
    # Every issued credential's document is a leaf of exactly one batch.
    documented = [d["credential_id"] for r in anchored for d in r.documents]
    assert len(documented) == len(set(documented)) == 7
    # One transaction per batch from the anchoring account, and no other.
    assert chain.confirmed_nonce(sender) == len(anchored)


def test_each_anchor_is_recorded_as_an_event(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger))
    app = ledger.embedded.storage.ledger
    notifications = app.recorder.select_notifications(start=None, limit=10_000)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    anchored = [e for e in events if isinstance(e, BatchAnchor.Anchored)]
    assert anchored
    record = ledger.embedded.storage.anchors.get(anchored[0].checkpoint_size)
    assert record is not None and anchored[0].tx_hash == record.tx_hash
    assert anchored[0].block_number == record.block_number


def test_anchoring_costs_one_plain_transfer_of_32_bytes(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger))
    record = ledger.embedded.storage.anchors.latest()
    assert record is not None and record.tx_hash is not None
    inclusion = ledger.embedded.chain.chain.inclusion(record.tx_hash)
    assert inclusion is not None and inclusion.succeeded
    zero = bytes.fromhex(record.root).count(0)
    # Prague: 21,000 + max(4 x tokens, 10 x tokens), tokens = zero bytes + 4 x non-zero bytes
    tokens = zero + 4 * (32 - zero)
    assert inclusion.gas_used == 21_000 + 10 * tokens
