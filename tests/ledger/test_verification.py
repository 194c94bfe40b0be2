"""Proof bundles verify step by step, against a real Anvil node, without the ledger; any
changed byte makes a named step fail; revoked and superseded versions are reported as such."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchors.anvil import ManagedAnvil
from anchors.ethereum import Web3Chain
from ledger.cli.main import cli
from ledger.settings import Settings
from ledger.verify import verify_bundle
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
def settings(anvil_settings: Settings) -> Settings:
    return anvil_settings


def anchored_credential(ledger: RunningLedger, issuer: RegisteredIssuer) -> str:
    credential_id = issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger))
    return credential_id


def steps(report: dict[str, Any]) -> dict[str, bool | None]:
    return {step["name"]: step["passed"] for step in report["steps"]}


def test_a_credential_verifies_with_every_step_passed(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    report = ledger.public.verify(credential_id=credential_id)
    assert report["verdict"] == "valid"
    assert steps(report) == {
        "bundle": True,
        "envelope": True,
        "issuer_signature": True,
        "issuer_registered": True,
        "quality_assurance": True,
        "checkpoint_signature": True,
        "witnesses": None,
        "log_inclusion": True,
        "anchor_path": True,
        "transaction": True,
        "status": True,
    }
    assert report["credential"]["title"] == "Applied Machine Learning"
    assert ledger.public.status(credential_id)["versions"][0]["anchor"]["state"] == "anchored"


def test_before_its_batch_is_anchored_a_credential_shows_pending(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    ledger.embedded._stop.set()  # no consumer runs: nothing gets anchored
    credential_id = issue(ledger, issuer)
    found = ledger.public.status(credential_id)
    assert found["versions"][0]["anchor"]["state"] == "pending"


def test_a_revoked_credential_is_reported_revoked_with_its_reason(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "degree mill"))
    report = ledger.public.verify(credential_id=credential_id)
    assert report["verdict"] == "revoked"
    assert "degree mill" in report["steps"][-1]["detail"]


def test_a_superseded_version_is_reported_superseded(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    ledger.public.amend(issuer.signer.amend(credential_id, 1, content(title="v2"), learner=LEARNER))
    wait_for(lambda: anchored_everything(ledger))
    old = ledger.public.verify(credential_id=credential_id, version=1)
    assert old["verdict"] == "superseded"
    assert ledger.public.verify(credential_id=credential_id)["verdict"] == "valid"


def test_a_saved_bundle_verifies_after_the_service_stopped(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil, tmp_path: Path
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    bundle = tmp_path / "proof.json"
    bundle.write_text(json.dumps(ledger.public.proof(credential_id)))
    log_key = ledger.public._call("GET", "/log/key")["verifier_key"]
    ledger.embedded.stop()
    result = CliRunner().invoke(
        cli, ["verify", str(bundle), "--rpc", anvil.url, "--log-key", log_key, "--json"]
    )
    report = json.loads(result.stdout)
    assert result.exit_code == 3, result.output  # authentic; status not asked offline
    assert report["verdict"] == "status-unknown"
    assert all(s["passed"] for s in report["steps"] if s["name"] not in ("status", "witnesses"))


def flip(text: str, position: int) -> str:
    character = text[position]
    replacement = "0" if character != "0" else "1"
    return text[:position] + replacement + text[position + 1 :]


def test_changing_any_byte_of_the_bundle_fails_a_named_step(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    text = json.dumps(ledger.public.proof(credential_id), sort_keys=True)
    log_key = ledger.public._call("GET", "/log/key")["verifier_key"]
    chain = Web3Chain.connect(anvil.url)
    untouched = verify_bundle(json.loads(text), chain, trusted_log_key=log_key)
    assert untouched.verdict == "status-unknown"
    positions = random.Random(4).sample(range(len(text)), 120)
    failed_steps: set[str] = set()
    for position in positions:
        changed = flip(text, position)
        if changed == text:
            continue
        try:
            bundle = json.loads(changed)
        except json.JSONDecodeError:
            continue  # not JSON any more: nothing to verify
        if bundle == json.loads(text):
            continue  # e.g. a changed space between tokens
        report = verify_bundle(bundle, chain, trusted_log_key=log_key)
        failed = [s.name for s in report.steps if s.passed is False]
        assert report.verdict == "invalid" and failed, (
            f"byte {position} changed, still passes: {text[position - 40 : position + 40]!r}"
        )
        failed_steps.update(failed)
    assert {"bundle", "log_inclusion", "checkpoint_signature", "anchor_path"} <= failed_steps


def test_a_suspended_issuer_fails_the_quality_assurance_check(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    ledger.admin.suspend_issuer(issuer.issuer_id, "accreditation withdrawn")
    report = ledger.public.verify(credential_id=credential_id)
    assert steps(report)["quality_assurance"] is False
    assert report["verdict"] == "invalid"
