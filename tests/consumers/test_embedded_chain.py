"""The embedded default: a local Anvil run by the ledger, whose chain survives restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from consumers.embedded import EmbeddedLedger
from ledger.bundle import build_bundle
from ledger.client import CommandSigner
from ledger.commands import IssuerRegistration, SignedCommand
from ledger.samples import issuer_registration
from ledger.settings import Settings, create_secrets
from ledger.signing import IssuerKey
from ledger.verify import verify_bundle
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
