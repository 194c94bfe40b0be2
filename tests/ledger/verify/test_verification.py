"""Proof bundles verify step by step, against a real Anvil node, without the ledger; any
changed byte makes a named step fail; revoked and superseded versions are reported as such."""

from __future__ import annotations

import base64
import contextlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchors.anvil import ManagedAnvil
from anchors.ethereum import Web3Chain
from ledger.cli.main import cli
from ledger.settings import Settings
from ledger.verify.bundle_checks import verify_bundle
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    free_port,
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
        "document_leaf": True,
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


def _inclusion_proofs(node: Any) -> Iterator[list[str]]:
    """Every log inclusion proof in a bundle."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "inclusion" and isinstance(value, list) and value:
                yield value
            else:
                yield from _inclusion_proofs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _inclusion_proofs(value)


def test_a_proof_hash_spelled_another_way_in_base64_fails_log_inclusion(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil
) -> None:
    bundle = ledger.public.proof(anchored_credential(ledger, issuer))
    log_key = ledger.public._call("GET", "/log/key")["verifier_key"]
    proof = next(_inclusion_proofs(bundle))
    hash_text = proof[0]  # 32 bytes: 43 characters and "=", the last 2 bits of the 43rd unused
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    other = alphabet[alphabet.index(hash_text[42]) ^ 1]
    proof[0] = hash_text[:42] + other + "="
    assert base64.b64decode(proof[0]) == base64.b64decode(hash_text)  # the same bytes
    report = verify_bundle(bundle, Web3Chain.connect(anvil.url), trusted_log_key=log_key)
    assert report.verdict == "invalid"
    (step,) = [s for s in report.steps if s.name == "log_inclusion"]
    assert step.passed is False and "canonical base64" in step.detail


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
        where = json.loads(text)["anchor"]
        if {k: bundle["anchor"].get(k) for k in ("block_hash", "block_number")} != {
            k: where[k] for k in ("block_hash", "block_number")
        }:
            # The block a bundle names is where the transaction was when it was made; after a
            # re-organisation it may be elsewhere. The transaction is what binds the root.
            moved = next(s for s in report.steps if s.name == "transaction")
            assert moved.passed and "moved to another block" in moved.detail
            continue
        assert report.verdict == "invalid" and failed, (
            f"byte {position} changed, still passes: {text[position - 40 : position + 40]!r}"
        )
        failed_steps.update(failed)
    assert {"bundle", "log_inclusion", "checkpoint_signature", "anchor_path"} <= failed_steps


def test_a_bundle_whose_transaction_was_mined_again_in_another_block_verifies(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil
) -> None:
    snapshot = anvil.rpc("evm_snapshot")
    credential_id = anchored_credential(ledger, issuer)
    bundle = ledger.public.proof(credential_id)
    raw = anvil.rpc("eth_getRawTransactionByHash", bundle["anchor"]["tx_hash"])
    # The re-organisation: the anchor's block is dropped, and the same signed transaction is
    # mined again in another block (by us, or by the ledger seeing its anchor orphaned).
    anvil.rpc("evm_revert", snapshot)
    anvil.rpc("evm_mine")
    with contextlib.suppress(Exception):  # the ledger may have sent it again already
        anvil.rpc("eth_sendRawTransaction", raw)
    chain = Web3Chain.connect(anvil.url)
    wait_for(lambda: chain.transaction(bundle["anchor"]["tx_hash"]) is not None)
    anvil.rpc("evm_mine")
    moved = chain.transaction(bundle["anchor"]["tx_hash"])
    assert moved is not None and moved.block_hash != bundle["anchor"]["block_hash"]
    log_key = ledger.public._call("GET", "/log/key")["verifier_key"]
    report = verify_bundle(bundle, chain, trusted_log_key=log_key)
    transaction = next(s for s in report.steps if s.name == "transaction")
    assert transaction.passed is True, transaction.detail
    assert "moved to another block in a re-organisation" in transaction.detail
    assert report.verdict == "status-unknown"  # no ledger was asked for the status


def test_an_unreachable_chain_gives_could_not_be_confirmed_never_invalid(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    bundle = ledger.public.proof(credential_id)
    log_key = ledger.public._call("GET", "/log/key")["verifier_key"]
    nowhere = Web3Chain.connect(f"http://127.0.0.1:{free_port()}", timeout=2)
    report = verify_bundle(bundle, nowhere, trusted_log_key=log_key)
    transaction = next(s for s in report.steps if s.name == "transaction")
    assert transaction.passed is None and "could not be reached" in transaction.detail
    assert report.verdict == "status-unknown"
    assert not [s.name for s in report.steps if s.passed is False]


def test_the_cli_says_could_not_be_confirmed_when_the_chain_is_unreachable(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    saved = tmp_path / "proof.json"
    saved.write_text(json.dumps(ledger.public.proof(credential_id)), "utf-8")
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        cli, ["verify", str(saved), "--rpc", nowhere, "--ledger-url", ledger.url]
    )
    assert result.exit_code == 3, result.output
    assert "invalid" not in result.output


def test_a_suspended_issuer_fails_the_quality_assurance_check(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    ledger.admin.suspend_issuer(issuer.issuer_id, "accreditation withdrawn")
    report = ledger.public.verify(credential_id=credential_id)
    assert steps(report)["quality_assurance"] is False
    assert report["verdict"] == "invalid"
