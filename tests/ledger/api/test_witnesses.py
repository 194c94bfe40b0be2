"""Witnesses cosign the ledger's checkpoints through its API; verification needs the quorum."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from anchors.witness import WitnessKey
from ledger.cli.main import cli
from ledger.settings import Settings
from tests.conftest import RegisteredIssuer, RunningLedger, anchored_everything, issue, wait_for

KEYS = [WitnessKey.generate() for _ in range(3)]


@pytest.fixture
def settings(anvil_settings: Settings) -> Settings:
    return anvil_settings.model_copy(
        update={
            "witnesses": [{"key": k.public, "proof": k.proof_of_possession()} for k in KEYS],
            "witness_quorum": 2,
        }
    )


def cosign(ledger: RunningLedger, key: WitnessKey, tmp_path: Path, name: str) -> None:
    key_file = tmp_path / f"{name}.json"
    if not key_file.exists():
        key.save(key_file)
    log_key = ledger.public._call("GET", "/log/key")["verifier_key"]
    result = CliRunner().invoke(
        cli,
        [
            "witness",
            "cosign",
            "--url",
            ledger.url,
            "--key",
            str(key_file),
            "--state",
            str(tmp_path / f"{name}-state.json"),
            "--log-key",
            log_key,
        ],
    )
    assert result.exit_code == 0, result.output


def anchored_credential(ledger: RunningLedger, issuer: RegisteredIssuer) -> str:
    credential_id = issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger))
    return credential_id


def latest_is_anchored_batch(ledger: RunningLedger, credential_id: str) -> bool:
    size = ledger.public.proof(credential_id)["log"]["size"]
    return bool(ledger.public._call("GET", "/log/checkpoint")["size"] == size)


def test_a_quorum_of_cosignatures_verifies_as_one_aggregate(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    wait_for(lambda: latest_is_anchored_batch(ledger, credential_id))
    cosign(ledger, KEYS[0], tmp_path, "w0")
    report = ledger.public.verify(credential_id=credential_id)
    assert report["verdict"] == "invalid"
    assert {s["name"]: s["passed"] for s in report["steps"]}["witnesses"] is False
    cosign(ledger, KEYS[1], tmp_path, "w1")
    report = ledger.public.verify(credential_id=credential_id)
    assert report["verdict"] == "valid", report
    published = ledger.public.proof(credential_id)["log"]["cosignatures"]
    assert sorted(published["signers"]) == sorted([KEYS[0].public, KEYS[1].public])


def test_cosignatures_from_strangers_or_that_do_not_verify_are_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    anchored_credential(ledger, issuer)
    checkpoint = ledger.public._call("GET", "/log/checkpoint")
    body = checkpoint["note"].partition("\n\n")[0] + "\n"
    stranger = WitnessKey.generate()
    http = httpx.Client(base_url=ledger.url)
    refused = http.post(
        "/log/cosignatures",
        json={
            "size": checkpoint["size"],
            "witness": stranger.public,
            "signature": stranger.sign(body),
        },
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    forged = http.post(
        "/log/cosignatures",
        json={
            "size": checkpoint["size"],
            "witness": KEYS[2].public,
            "signature": stranger.sign(body),
        },
    )
    assert (forged.status_code, forged.json()["code"]) == (401, "bad-signature")


def test_a_witness_reports_a_fork_with_both_notes(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    anchored_credential(ledger, issuer)
    cosign(ledger, KEYS[2], tmp_path, "w2")
    state = tmp_path / "w2-state.json"
    remembered = json.loads(state.read_text())
    origin = next(iter(remembered))
    honest = remembered[origin]
    # Show the witness a forged checkpoint of the same size, signed with the ledger's key.
    from anchors.checkpoint import Checkpoint, NoteSigner
    from ledger.settings import Settings as _Settings

    settings: _Settings = ledger.embedded.settings
    signer = NoteSigner.from_seed(settings.log_origin_value(), settings.log_key_seed())
    parsed = Checkpoint.parse(honest.partition("\n\n")[0] + "\n")
    forged = signer.sign(Checkpoint(parsed.origin, parsed.size, bytes(32)).body())
    from anchors.checkpoint import NoteVerifier
    from anchors.witness import ForkDetected, Witness

    member = Witness(KEYS[2], state)
    with pytest.raises(ForkDetected) as caught:
        member.cosign(forged, [], NoteVerifier.parse(signer.verifier_key()), origin)
    assert caught.value.evidence == (honest, forged)


def test_the_audit_checks_the_witness_quorum_of_the_latest_checkpoint(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    credential_id = anchored_credential(ledger, issuer)
    wait_for(lambda: latest_is_anchored_batch(ledger, credential_id))
    witnesses = [arg for k in KEYS for arg in ("--witness", k.public)]
    audit = ["audit", "--url", ledger.url, "--quorum", "2", *witnesses, "--json"]
    cosign(ledger, KEYS[0], tmp_path, "w0")
    lacking = CliRunner().invoke(cli, audit)
    assert lacking.exit_code == 1
    assert json.loads(lacking.stdout)["finding"]["check"] == "witnesses"
    cosign(ledger, KEYS[2], tmp_path, "w2")
    result = CliRunner().invoke(cli, audit)
    assert result.exit_code == 0, result.stdout
