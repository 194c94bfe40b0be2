"""Go's sumdb code (golang.org/x/mod/sumdb/note and sumdb/tlog, in tests/interop/tlog, built by
tests/run.sh) reads the log from ``/tlog/`` as C2SP tlog-tiles and verifies it with none of
credledger's code: the checkpoint's signature, every entry re-hashed to its leaf, inclusion
proofs of sampled entries, and consistency with an earlier checkpoint."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import NoteSigner
from ledger.domain import samples
from ledger.settings import Settings
from tests.conftest import RegisteredIssuer, RunningLedger, wait_for

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / ".deploy" / "tlog" / "tlogclient"

pytestmark = pytest.mark.skipif(
    not CLIENT.is_file(), reason="the Go tlog client is built by tests/run.sh"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Checkpoints each second, so that the history below is published without a long wait.
    return settings.model_copy(update={"batch_age_seconds": 1.0})


def issue_many(ledger: RunningLedger, issuer: RegisteredIssuer, count: int) -> None:
    content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
    bodies = [
        issuer.signer.issue(content, {"identifier": f"t-{i}", "full_name": f"Learner {i}"})
        for i in range(count)
    ]
    ledger.public.bulk_issue(bodies)


def published(ledger: RunningLedger) -> str:
    """The checkpoint note once it covers every entry of the log."""

    def covers_the_log() -> bool:
        latest = ledger.embedded.storage.log.store.latest_checkpoint()
        return latest is not None and latest[0] == ledger.embedded.storage.log.size()

    wait_for(covers_the_log, timeout=60)
    return httpx.get(f"{ledger.url}/tlog/checkpoint").text


def log_key(ledger: RunningLedger) -> dict[str, str]:
    return dict(httpx.get(f"{ledger.url}/log/key").json())


def go_client(ledger: RunningLedger, *args: str, vkey: str | None = None) -> dict[str, Any]:
    key = log_key(ledger)
    done = subprocess.run(
        [
            str(CLIENT),
            "-url",
            f"{ledger.url}/tlog",
            "-origin",
            key["origin"],
            "-vkey",
            vkey or key["verifier_key"],
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_go_verifies_the_checkpoint_every_entry_inclusion_and_consistency_from_the_tiles(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    issue_many(ledger, issuer, 300)
    earlier = tmp_path / "earlier.checkpoint"
    earlier.write_text(published(ledger))
    issue_many(ledger, issuer, 300)
    published(ledger)
    size = ledger.embedded.storage.log.size()
    assert size > 512  # full and partial tiles, and a level-1 tile
    report = go_client(ledger, "-old", str(earlier), "-samples", "300")
    assert report["size"] == report["entries_rehashed"] == size
    assert report["inclusion_proofs"] == 300
    assert 256 < report["consistent_from"] < size


def test_go_refuses_a_checkpoint_under_another_key(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue_many(ledger, issuer, 5)
    published(ledger)
    origin = log_key(ledger)["origin"]
    stranger = NoteSigner(origin, Ed25519PrivateKey.generate()).verifier_key()
    with pytest.raises(AssertionError, match="checkpoint signature"):
        go_client(ledger, vkey=stranger)
