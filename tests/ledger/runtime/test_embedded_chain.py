"""The embedded default: a local Anvil run by the ledger, whose chain survives restarts."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.client import CommandSigner
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.samples import issuer_registration
from ledger.domain.signing import IssuerKey
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import Settings, create_secrets
from ledger.verify.bundle import build_bundle
from ledger.verify.bundle_checks import verify_bundle
from tests.conftest import LEARNER, content, wait_for


def test_anchors_made_before_a_restart_verify_after_it(
    tmp_path: Path, database: Callable[[], dict[str, Any]]
) -> None:
    create_secrets(tmp_path / "data")
    settings = Settings(data_dir=tmp_path / "data", batch_age_seconds=0.3, **database())
    assert settings.chain == "anvil"
    with EmbeddedLedger(settings) as first:
        app = first.storage.ledger
        key = IssuerKey.generate()
        issuer = app.register_issuer(IssuerRegistration(**issuer_registration(key.address)))
        signer = CommandSigner(key, str(issuer.id))
        credential_id = str(
            app.issue(SignedCommand(**signer.issue(content(), LEARNER))).credential_id
        )
        first.projector.catch_up()
        wait_for(lambda: recorded(first))
        latest = first.storage.anchors.latest()
        assert latest is not None
        tx_hash = latest.tx_hash
    assert (tmp_path / "data" / "anvil-state.json").exists()

    with EmbeddedLedger(settings) as second:
        storage = second.storage
        bundle = build_bundle(
            credential_id,
            None,
            storage.read_model,
            storage.log,
            storage.anchors,
            second.signer.verifier_key(),
        )
        assert bundle["anchor"]["tx_hash"] == tx_hash
        report = verify_bundle(bundle, second.chain.chain, second.signer.verifier_key())
        assert {s.name: s.passed for s in report.steps}["transaction"] is True


def recorded(embedded: EmbeddedLedger) -> bool:
    latest = embedded.storage.anchors.latest()
    return latest is not None and latest.state == "recorded"


def test_the_local_node_killed_is_back_within_seconds_on_the_same_port_and_anchors_on(
    tmp_path: Path, database: Callable[[], dict[str, Any]]
) -> None:
    create_secrets(tmp_path / "data")
    settings = Settings(data_dir=tmp_path / "data", batch_age_seconds=0.3, **database())
    with EmbeddedLedger(settings) as running:
        node = running.chain.node
        assert node is not None and node.pid is not None
        url = node.url
        os.killpg(node.pid, signal.SIGKILL)
        wait_for(lambda: not node.running(), timeout=10)
        wait_for(lambda: node.running() and node.ready(), timeout=15)
        assert node.url == url
        app = running.storage.ledger
        key = IssuerKey.generate()
        issuer = app.register_issuer(IssuerRegistration(**issuer_registration(key.address)))
        app.issue(SignedCommand(**CommandSigner(key, str(issuer.id)).issue(content(), LEARNER)))
        wait_for(lambda: recorded(running), timeout=30)


def test_the_local_node_keeps_its_port_across_restarts_of_the_ledger(
    tmp_path: Path, database: Callable[[], dict[str, Any]]
) -> None:
    create_secrets(tmp_path / "data")
    settings = Settings(data_dir=tmp_path / "data", **database())
    with EmbeddedLedger(settings) as first:
        assert first.chain.node is not None
        url = first.chain.node.url
    with EmbeddedLedger(settings) as second:
        assert second.chain.node is not None and second.chain.node.url == url
    assert int(url.rsplit(":", 1)[1]) < 32768  # below the ephemeral ports
