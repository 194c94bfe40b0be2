"""Anchoring under faults, on real Anvil nodes: a crash between broadcast and record, the node
going away, a re-organisation, and a transaction that waits too long."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from anchors.anchor_tree import checkpoint_leaf
from anchors.anchoring import AnchorRecord
from anchors.anvil import ManagedAnvil, dev_account, find_anvil
from ledger.application.storage import open_storage
from ledger.client import CommandSigner, LedgerRequestError
from ledger.domain.aggregates import BatchAnchor, anchor_id_for
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.samples import issuer_registration
from ledger.domain.signing import IssuerKey
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import Settings
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    issue,
    settings_on,
    wait_for,
)


def anvil_node(tmp_path: Path, **options: Any) -> ManagedAnvil:
    binary = find_anvil()
    assert binary is not None, "anvil is installed by tests/run.sh"
    return ManagedAnvil(binary, state_file=tmp_path / "anvil-state.json", **options)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ManagedAnvil]:
    started = anvil_node(tmp_path).start()
    yield started
    started.stop()


@pytest.fixture
def settings(
    tmp_path: Path, database: Callable[[], dict[str, Any]], node: ManagedAnvil
) -> Settings:
    return settings_on(tmp_path, database, node)


def recorded(record: AnchorRecord | None) -> bool:
    return record is not None and record.state == "recorded"


def anchor_events(ledger: EmbeddedLedger) -> list[Any]:
    app = ledger.storage.ledger
    stored = app.recorder.select_notifications(start=None, limit=100_000)
    events = [app.mapper.to_domain_event(n) for n in stored]
    return [e for e in events if isinstance(e, BatchAnchor.Event)]


CRASH_AFTER_BROADCAST = textwrap.dedent(
    """
    import json, os, signal, sys
    from ledger.runtime.embedded import EmbeddedLedger
    from anchors.anchor_tree import checkpoint_leaf
    from ledger.settings import Settings

    fields = json.loads(sys.argv[1])
    fields.update(chain_private_key=sys.argv[2], postgres_password="credledger")
    settings = Settings(**fields)
    embedded = EmbeddedLedger(settings)  # no threads: this process only does what follows
    embedded.log_consumer.catch_up()
    size, note = embedded.log_consumer.close_batch()
    record = embedded.anchorer.open(size, note, [checkpoint_leaf(note)])
    print(json.dumps({"size": size, "tx": record.attempts[-1].tx_hash}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # after broadcast, before anything is recorded
    """
)


def test_a_crash_after_broadcast_still_ends_with_exactly_one_transaction(
    tmp_path: Path, database: Callable[[], dict[str, Any]], node: ManagedAnvil
) -> None:
    settings = settings_on(tmp_path, database, node, batch_age_seconds=3600.0)
    with EmbeddedLedger(settings) as first:
        # Stop the consumers: the crashing process below anchors this history itself.
        first._stop.set()
    storage = open_storage(settings)
    key = IssuerKey.generate()
    issuer = storage.ledger.register_issuer(IssuerRegistration(**issuer_registration(key.address)))
    signer = CommandSigner(key, str(issuer.id))
    storage.ledger.issue(SignedCommand(**signer.issue(content(), LEARNER)))
    storage.close()

    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASH_AFTER_BROADCAST,
            settings.model_dump_json(),
            dev_account().key.hex(),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    sent = json.loads(crashed.stdout)

    with EmbeddedLedger(settings) as restarted:
        wait_for(lambda: recorded(restarted.storage.anchors.get(sent["size"])))
        record = restarted.storage.anchors.get(sent["size"])
        assert record is not None and record.tx_hash == sent["tx"]
        assert restarted.chain.chain.confirmed_nonce(dev_account().address) == 1
        events = [e for e in anchor_events(restarted) if e.checkpoint_size == sent["size"]]
        assert len(events) == 1


def test_while_the_node_is_down_commands_are_accepted_and_anchoring_catches_up(
    ledger: RunningLedger, issuer: RegisteredIssuer, node: ManagedAnvil
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger))
    node.kill()
    assert not node.ready()
    issued = [issue(ledger, issuer, learner={**LEARNER, "identifier": f"d{i}"}) for i in range(8)]
    time.sleep(3 * ledger.embedded.settings.batch_age_seconds)  # batches close; none anchors
    for credential_id in issued:
        found = ledger.public.status(credential_id)
        assert found["versions"][0]["anchor"]["state"] == "pending"
    node.start()
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    for credential_id in issued:
        assert ledger.public.verify(credential_id=credential_id)["verdict"] == "valid"


def test_a_reorganised_anchor_is_anchored_again_and_its_bundle_updated(
    ledger: RunningLedger, issuer: RegisteredIssuer, node: ManagedAnvil
) -> None:
    snapshot = node.rpc("evm_snapshot")
    credential_id = issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger))
    before = ledger.public.proof(credential_id)["anchor"]
    node.rpc("evm_revert", snapshot)
    node.rpc("evm_mine")  # another block at that height: the anchor's block is gone

    def anchored_elsewhere() -> bool:
        try:
            return bool(
                ledger.public.proof(credential_id)["anchor"]["block_hash"] != before["block_hash"]
            )
        except LedgerRequestError:  # pending while the orphaned batch is anchored again
            return False

    wait_for(anchored_elsewhere, timeout=60)
    after = ledger.public.proof(credential_id)["anchor"]
    assert after["tx_hash"] == before["tx_hash"]  # the same signed bytes, broadcast again
    anchor_id = anchor_id_for(
        ledger.embedded.settings.log_origin_value(), after_size(ledger, credential_id)
    )
    kinds = [
        type(e).__name__ for e in anchor_events(ledger.embedded) if e.originator_id == anchor_id
    ]
    assert kinds[:3] == ["Anchored", "Orphaned", "Reanchored"]
    assert ledger.public.verify(credential_id=credential_id)["verdict"] == "valid"


def anchor_next_batch(embedded: EmbeddedLedger, signer: CommandSigner) -> AnchorRecord:
    """Issue one credential and take its batch to a recorded anchor, step by step, with no
    orphan check in between (the test decides when the anchorer looks)."""
    learner = {**LEARNER, "identifier": f"learner-{time.monotonic_ns()}"}
    embedded.storage.ledger.issue(SignedCommand(**signer.issue(content(), learner)))
    embedded.log_consumer.catch_up()
    size, note = embedded.log_consumer.close_batch()
    record = embedded.anchorer.open(size, note, [checkpoint_leaf(note)])
    for _ in range(20):
        record = embedded.anchorer.advance(record)
        if record.state == "confirmed":
            embedded.anchorer.mark_recorded(record)
            stored = embedded.storage.anchors.get(size)
            assert stored is not None
            return stored
    raise AssertionError("the anchor was not confirmed")


@pytest.fixture
def driven(
    tmp_path: Path, database: Callable[[], dict[str, Any]], node: ManagedAnvil
) -> Iterator[tuple[EmbeddedLedger, CommandSigner]]:
    """A ledger with no consumer threads (the test drives the anchorer) and a registered
    issuer's signer."""
    settings = settings_on(tmp_path, database, node, batch_age_seconds=3600.0)
    embedded = EmbeddedLedger(settings)
    try:
        key = IssuerKey.generate()
        app = embedded.storage.ledger
        issuer = app.register_issuer(IssuerRegistration(**issuer_registration(key.address)))
        yield embedded, CommandSigner(key, str(issuer.id))
    finally:
        embedded.stop()


def test_an_anchor_above_the_last_checked_tip_is_found_orphaned_though_the_chain_below_stays(
    driven: tuple[EmbeddedLedger, CommandSigner], node: ManagedAnvil
) -> None:
    embedded, signer = driven
    first = anchor_next_batch(embedded, signer)
    assert embedded.anchorer.orphaned() == []  # the tip is checked with the first on it
    checked = node.rpc("evm_snapshot")
    second = anchor_next_batch(embedded, signer)
    node.rpc("evm_revert", checked)
    node.rpc("evm_mine")
    node.rpc("evm_mine")  # a longer chain on the checked tip, without the second anchor
    orphans = embedded.anchorer.orphaned()
    assert [o.checkpoint_size for o in orphans] == [second.checkpoint_size]
    still = embedded.storage.anchors.get(first.checkpoint_size)
    assert still is not None and still.state == "recorded"


def test_an_anchor_recorded_since_the_last_check_is_orphaned_when_the_chain_is_back_at_that_tip(
    driven: tuple[EmbeddedLedger, CommandSigner], node: ManagedAnvil
) -> None:
    """As after a node's crash that lost its last second: the same tip as at the last check,
    and the block the newest anchor was recorded in gone."""
    embedded, signer = driven
    checked = node.rpc("evm_snapshot")
    assert embedded.anchorer.orphaned() == []  # the tip is checked before any anchor
    recorded = anchor_next_batch(embedded, signer)
    node.rpc("evm_revert", checked)  # the chain is back at exactly the checked tip
    orphans = embedded.anchorer.orphaned()
    assert [o.checkpoint_size for o in orphans] == [recorded.checkpoint_size]


def after_size(ledger: RunningLedger, credential_id: str) -> int:
    return int(ledger.public.proof(credential_id)["log"]["size"])


def test_a_transaction_that_waits_too_long_is_replaced_and_only_one_is_mined(
    tmp_path: Path, database: Callable[[], dict[str, Any]]
) -> None:
    manual = anvil_node(tmp_path, automine=False).start()
    try:
        settings = settings_on(tmp_path, database, manual, anchor_replace_after_seconds=1.0)
        with EmbeddedLedger(settings) as embedded:
            key = IssuerKey.generate()
            app = embedded.storage.ledger
            issuer = app.register_issuer(IssuerRegistration(**issuer_registration(key.address)))
            app.issue(SignedCommand(**CommandSigner(key, str(issuer.id)).issue(content(), LEARNER)))
            wait_for(
                lambda: any(len(r.attempts) >= 2 for r in embedded.storage.anchors.unfinished())
            )
            manual.rpc("evm_mine")
            wait_for(lambda: recorded(embedded.storage.anchors.latest()))
            record = embedded.storage.anchors.latest()
            assert record is not None and len(record.attempts) >= 2
            fees = [a.max_fee_per_gas for a in record.attempts]
            assert fees == sorted(fees) and fees[-1] > fees[0]
            assert embedded.chain.chain.confirmed_nonce(dev_account().address) == 1
            mined = [a for a in record.attempts if embedded.chain.chain.inclusion(a.tx_hash)]
            assert len(mined) == 1
    finally:
        manual.stop()
