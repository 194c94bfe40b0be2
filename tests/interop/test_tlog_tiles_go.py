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
from anchors.tile_export import TileExport
from ledger.domain import samples
from tests.conftest import RegisteredIssuer, RunningLedger, store_independent, wait_for

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / ".deploy" / "tlog" / "tlogclient"

pytestmark = [
    pytest.mark.skipif(not CLIENT.is_file(), reason="the Go tlog client is built by tests/run.sh"),
    store_independent,
]


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
        # Every stored event but anchoring bookkeeping in the log, under a checkpoint. Each
        # anchor stores an event of its own, which the next checkpoint covers and the next
        # anchor follows: a moment with nothing pending at all can be missed under load.
        storage = ledger.embedded.storage
        stored = storage.ledger.recorder.select_notifications(start=None, limit=1_000_000)
        substantive = [n for n in stored if ":BatchAnchor." not in n.topic]
        index = storage.log.store.index_of(substantive[-1].id)
        latest = storage.log.store.latest_checkpoint()
        return index is not None and latest is not None and latest[0] > index

    wait_for(covers_the_log, timeout=60)
    return httpx.get(f"{ledger.url}/tlog/checkpoint").text


def log_key(ledger: RunningLedger) -> dict[str, str]:
    return dict(httpx.get(f"{ledger.url}/log/key").json())


def go_client(
    ledger: RunningLedger, *args: str, vkey: str | None = None, url: str | None = None
) -> dict[str, Any]:
    key = log_key(ledger)
    done = subprocess.run(
        [
            str(CLIENT),
            "-url",
            url or f"{ledger.url}/tlog",
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
    size = int(published(ledger).split("\n")[1])
    assert size > 512  # full and partial tiles, and a level-1 tile
    report = go_client(ledger, "-old", str(earlier), "-samples", "300")
    # Anchoring may add an event and a checkpoint meanwhile: the client reads the latest.
    assert report["size"] == report["entries_rehashed"] >= size
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


def test_go_verifies_the_exported_directory_served_by_a_plain_file_server(
    ledger: RunningLedger, issuer: RegisteredIssuer, static_server: tuple[Path, str], tmp_path: Path
) -> None:
    directory, url = static_server
    export = TileExport(ledger.embedded.storage.log, directory)
    issue_many(ledger, issuer, 300)
    published(ledger)
    export.step()
    earlier = tmp_path / "earlier.checkpoint"
    earlier.write_text((directory / "checkpoint").read_text())
    issue_many(ledger, issuer, 300)
    published(ledger)
    size = export.step()
    report = go_client(ledger, "-old", str(earlier), url=url)
    assert report["size"] == report["entries_rehashed"] == size
    assert report["inclusion_proofs"] == 300
    assert report["consistent_from"] > 256
