"""Batches are anchored on a real Anvil node: one transaction each, its data the root."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from anchors.anchor_tree import AnchorTree, checkpoint_leaf
from anchors.anvil import ManagedAnvil, dev_account, find_anvil
from anchors.chain import BURN_ADDRESS
from ledger.domain import BatchAnchor
from ledger.settings import Settings, create_secrets
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, issue


@pytest.fixture
def anvil() -> Iterator[ManagedAnvil]:
    binary = find_anvil()
    assert binary is not None, "anvil is installed by tests/run.sh (npm @foundry-rs/anvil)"
    node = ManagedAnvil(binary, state_file=None).start()
    yield node
    node.stop()


@pytest.fixture
def settings(
    tmp_path: Path, database: Callable[[], dict[str, Any]], anvil: ManagedAnvil
) -> Settings:
    create_secrets(tmp_path / "data")
    return Settings(
        data_dir=tmp_path / "data",
        batch_size=5,
        batch_age_seconds=0.5,
        chain="rpc",
        chain_rpc_url=anvil.url,
        chain_private_key=dev_account().key.hex(),
        chain_id=31337,
        **database(),
    )


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def all_anchored(ledger: RunningLedger) -> bool:
    storage = ledger.embedded.storage
    latest = storage.anchors.latest()
    return (
        latest is not None
        and latest.state == "recorded"
        and latest.checkpoint_size == storage.log.size()
    )


def test_each_batch_is_anchored_by_one_transaction_whose_data_is_the_root(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil
) -> None:
    for i in range(7):
        issue(ledger, issuer, learner={**LEARNER, "identifier": f"a{i}"})
    wait_for(lambda: all_anchored(ledger))
    storage = ledger.embedded.storage
    chain = ledger.embedded.chain.chain
    checkpoints = storage.log.store.checkpoints(0, 100)
    records = [storage.anchors.get(size) for size, _ in checkpoints]
    anchored = [r for r in records if r is not None]
    assert [r.checkpoint_size for r in anchored] == [size for size, _ in checkpoints]
    sender = dev_account().address
    for record, (_, note) in zip(anchored, checkpoints, strict=True):
        assert record.root == AnchorTree.build([checkpoint_leaf(note)]).root.hex()
        assert record.tx_hash is not None
        mined = chain.transaction(record.tx_hash)
        assert mined is not None
        assert mined.to == BURN_ADDRESS and mined.value == 0
        assert mined.data == bytes.fromhex(record.root) and mined.chain_id == 31337
        assert mined.sender == sender
        assert len(record.attempts) == 1
    # One transaction per batch from the anchoring account, and no other.
    assert chain.confirmed_nonce(sender) == len(anchored)


def test_each_anchor_is_recorded_as_an_event(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: all_anchored(ledger))
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
    wait_for(lambda: all_anchored(ledger))
    record = ledger.embedded.storage.anchors.latest()
    assert record is not None and record.tx_hash is not None
    inclusion = ledger.embedded.chain.chain.inclusion(record.tx_hash)
    assert inclusion is not None and inclusion.succeeded
    zero = bytes.fromhex(record.root).count(0)
    # Prague: 21,000 + max(4 x tokens, 10 x tokens), tokens = zero bytes + 4 x non-zero bytes
    tokens = zero + 4 * (32 - zero)
    assert inclusion.gas_used == 21_000 + 10 * tokens
