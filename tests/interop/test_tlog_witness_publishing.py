"""The ledger asks two C2SP witnesses, the transparency-dev omniwitness and its own
``credledger witness serve``, to cosign each checkpoint (CREDLEDGER_TLOG_WITNESSES), and
publishes both cosignatures on the checkpoint it serves and exports; Go's note code then
verifies the log's signature and a quorum of two cosignature/v1 lines."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from anchors.checkpoint import NoteSigner
from anchors.cosignature import CosignatureSigner, CosignatureVerifier
from anchors.tile_export import TileExport
from ledger.cli.main import cli
from ledger.settings import Settings
from ledger.verify.bundle_checks import verify_bundle
from tests.conftest import (
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    free_port,
    issue,
    store_independent,
    wait_for,
)
from tests.interop.test_tlog_tiles_go import CLIENT, go_client
from tests.interop.test_tlog_witness import (
    OMNIWITNESS,
    WITNESS_NAME,
    running_omniwitness,
    serving,
    witness_vkey,
)

pytestmark = [
    pytest.mark.skipif(
        not (OMNIWITNESS.is_file() and CLIENT.is_file()),
        reason="the witness and the Go client are built by tests/run.sh",
    ),
    store_independent,
]
WITNESS_KEY = Ed25519PrivateKey.generate()


OUR_WITNESS = CosignatureSigner("witness.credledger.own", Ed25519PrivateKey.generate())
WITNESS_KEYS = [witness_vkey(WITNESS_KEY), OUR_WITNESS.verifier_key()]


@contextlib.contextmanager
def running_credledger_witness(directory: Path, log_vkey: str) -> Iterator[str]:
    """``credledger witness serve`` in its own process; yields its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "witness.key").write_text(OUR_WITNESS.private_key())
    port = free_port()
    command = [sys.executable, "-m", "ledger.cli", "witness", "serve"]
    command += ["--key", str(directory / "witness.key"), "--log", log_vkey]
    command += ["--state", str(directory / "state.json"), "--port", str(port)]
    with serving(command, port) as url:
        yield url


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    origin = settings.log_origin_value()
    log_vkey = NoteSigner.from_seed(origin, settings.log_key_seed()).verifier_key()
    with (
        running_omniwitness(tmp_path / "go-witness", WITNESS_KEY, origin, log_vkey) as go_url,
        running_credledger_witness(tmp_path / "our-witness", log_vkey) as our_url,
    ):
        yield settings.model_copy(
            update={
                "tlog_witnesses": [
                    {"url": go_url, "key": WITNESS_KEYS[0]},
                    {"url": our_url, "key": WITNESS_KEYS[1]},
                ],
                "tlog_witness_seconds": 0.0,
                "witness_quorum": 2,
            }
        )


def cosigned_checkpoint(ledger: RunningLedger) -> str:
    """The served checkpoint, once it carries both witnesses' cosignatures."""
    verifiers = [CosignatureVerifier(key) for key in WITNESS_KEYS]
    found: list[str] = []

    def cosigned() -> bool:
        note = httpx.get(f"{ledger.url}/tlog/checkpoint").text
        found[:] = [note]
        return all(v.find(note) is not None for v in verifiers)

    wait_for(cosigned, timeout=60)
    return found[0]


def test_both_witnesses_cosign_the_served_checkpoint_and_go_verifies_a_quorum_of_two(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    cosigned_checkpoint(ledger)
    witnesses = [arg for key in WITNESS_KEYS for arg in ("-witness", key)]
    report = go_client(ledger, *witnesses, "-quorum", "2")
    assert sorted(report["cosigned_by"]) == sorted([WITNESS_NAME, OUR_WITNESS.name])


def test_go_refuses_a_checkpoint_short_of_its_quorum(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    cosigned_checkpoint(ledger)
    another = witness_vkey(Ed25519PrivateKey.generate())
    with pytest.raises(AssertionError, match="quorum 1"):
        go_client(ledger, "-witness", another, "-quorum", "1")


def test_the_exported_checkpoint_carries_the_cosignature_too(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    issue(ledger, issuer)
    cosigned_checkpoint(ledger)
    export = TileExport(ledger.embedded.storage.log, tmp_path / "tlog", WITNESS_KEYS)
    export.step()
    exported = (tmp_path / "tlog" / "checkpoint").read_text()
    assert all(CosignatureVerifier(key).find(exported) for key in WITNESS_KEYS)


def test_a_credential_verifies_with_a_quorum_of_the_two_standard_witnesses(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    reports: list[dict[str, Any]] = []

    def verified() -> bool:
        reports[:] = [ledger.public.verify(credential_id=credential_id)]
        return bool(reports[0]["verdict"] == "valid")

    wait_for(verified, timeout=60)
    (witnesses,) = [s for s in reports[0]["steps"] if s["name"] == "witnesses"]
    assert witnesses["passed"] is True
    assert "2 with cosignature/v1" in witnesses["detail"]


def test_a_bundle_short_of_the_quorum_is_invalid(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    wait_for(lambda: ledger.public.verify(credential_id=credential_id)["verdict"] == "valid", 60)
    bundle = ledger.public.proof(credential_id)
    report = verify_bundle(bundle, None, witnesses=frozenset(WITNESS_KEYS), quorum=3).as_dict()
    (witnesses,) = [s for s in report["steps"] if s["name"] == "witnesses"]
    assert (report["verdict"], witnesses["passed"]) == ("invalid", False)
    assert "Only 2 trusted witnesses" in witnesses["detail"]


def audit_over_api(ledger: RunningLedger, quorum: int) -> dict[str, Any]:
    witnesses = [arg for key in WITNESS_KEYS for arg in ("--witness", key)]
    args = ["audit", "--url", ledger.url, *witnesses, "--quorum", str(quorum), "--json"]
    result = CliRunner().invoke(cli, args)
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit_code"] = result.exit_code
    return report


def test_the_audit_finds_the_quorum_of_standard_witnesses_and_misses_a_larger_one(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    cosigned_checkpoint(ledger)
    assert audit_over_api(ledger, 2)["finding"] is None
    short = audit_over_api(ledger, 3)["finding"]
    assert short["check"] == "witnesses" and "2 with cosignature/v1" in short["detail"]


def test_the_metrics_show_each_witness_cosigning_and_the_quorum_met(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    note = cosigned_checkpoint(ledger)
    size = int(note.splitlines()[1])
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(httpx.get(f"{ledger.url}/metrics").text)
        for sample in family.samples
    }
    for name in (WITNESS_NAME, OUR_WITNESS.name):
        assert samples[("credledger_witness_cosignatures_total", (("witness", name),))] >= 1
        assert samples[("credledger_witness_cosigned_size", (("witness", name),))] >= size
    assert samples[("credledger_witnessed_checkpoint_size", ())] >= size
    assert samples[("credledger_witness_quorum", ())] == 2
