"""The ledger asks the transparency-dev witness to cosign each checkpoint (CREDLEDGER_TLOG_
WITNESSES) and publishes the cosignature on the checkpoint it serves and exports; Go's note
code then verifies the log's signature and the witness's cosignature/v1 with a quorum."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import NoteSigner
from anchors.cosignature import CosignatureVerifier
from anchors.tile_export import TileExport
from ledger.settings import Settings
from tests.conftest import RegisteredIssuer, RunningLedger, issue, wait_for
from tests.interop.test_tlog_tiles_go import CLIENT, go_client
from tests.interop.test_tlog_witness import (
    OMNIWITNESS,
    WITNESS_NAME,
    running_omniwitness,
    witness_vkey,
)

pytestmark = pytest.mark.skipif(
    not (OMNIWITNESS.is_file() and CLIENT.is_file()),
    reason="the witness and the Go client are built by tests/run.sh",
)
WITNESS_KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    origin = settings.log_origin_value()
    log_vkey = NoteSigner.from_seed(origin, settings.log_key_seed()).verifier_key()
    with running_omniwitness(tmp_path / "witness", WITNESS_KEY, origin, log_vkey) as url:
        yield settings.model_copy(
            update={
                "batch_age_seconds": 1.0,
                "tlog_witnesses": [{"url": url, "key": witness_vkey(WITNESS_KEY)}],
                "tlog_witness_seconds": 0.0,
            }
        )


def cosigned_checkpoint(ledger: RunningLedger) -> str:
    """The served checkpoint, once it carries the witness's cosignature."""
    verifier = CosignatureVerifier(witness_vkey(WITNESS_KEY))
    found: list[str] = []

    def cosigned() -> bool:
        note = httpx.get(f"{ledger.url}/tlog/checkpoint").text
        found[:] = [note]
        return verifier.find(note) is not None

    wait_for(cosigned, timeout=60)
    return found[0]


def test_the_served_checkpoint_carries_the_witness_cosignature_and_go_verifies_a_quorum(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    cosigned_checkpoint(ledger)
    report = go_client(ledger, "-witness", witness_vkey(WITNESS_KEY), "-quorum", "1")
    assert report["cosigned_by"] == [WITNESS_NAME]


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
    export = TileExport(ledger.embedded.storage.log, tmp_path / "tlog", [witness_vkey(WITNESS_KEY)])
    export.step()
    exported = (tmp_path / "tlog" / "checkpoint").read_text()
    verifier = CosignatureVerifier(witness_vkey(WITNESS_KEY))
    assert verifier.find(exported) is not None
