"""The transparency-dev witness (github.com/transparency-dev/witness, omniwitness, built by
tests/run.sh from the Go module proxy) cosigns the ledger's checkpoints over the C2SP
tlog-witness protocol, and the ledger verifies its cosignature/v1 lines; a forked checkpoint,
signed with the log's own key, is refused."""

from __future__ import annotations

import base64
import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from anchors.checkpoint import Checkpoint, NoteSigner
from anchors.cosignature import CosignatureSigner, CosignatureVerifier
from anchors.tlog_witness import WitnessClient, WitnessRefused
from tests.conftest import (
    RegisteredIssuer,
    RunningLedger,
    free_port,
    issue,
    store_independent,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
OMNIWITNESS = ROOT / ".deploy" / "go" / "bin" / "omniwitness"
WITNESS_NAME = "witness.credledger.test"

pytestmark = [
    pytest.mark.skipif(
        not OMNIWITNESS.is_file(), reason="the transparency-dev witness is built by tests/run.sh"
    ),
    store_independent,
]


def go_private_key(name: str, key: Ed25519PrivateKey) -> str:
    """The key in Go's signed-note private key form (what omniwitness reads)."""
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    key_id = NoteSigner(name, key).verifier_key().split("+")[1]
    encoded = base64.b64encode(b"\x01" + seed).decode()
    return f"PRIVATE+KEY+{name}+{key_id}+{encoded}"


@contextlib.contextmanager
def running_omniwitness(
    directory: Path, key: Ed25519PrivateKey, origin: str, log_vkey: str
) -> Iterator[str]:
    """The reference witness, trusting the log (origin, verifier key); yields its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "witness.skey").write_text(go_private_key(WITNESS_NAME, key))
    (directory / "logs.yaml").write_text(
        f"Logs:\n  - Origin: {origin}\n    PublicKey: {log_vkey}\n    URL: http://unused\n"
    )
    port = free_port()
    command = [str(OMNIWITNESS), f"--listen=127.0.0.1:{port}", "--metrics_listen="]
    command += [f"--private_key_path={directory / 'witness.skey'}"]
    command += [f"--additional_logs={directory / 'logs.yaml'}"]
    command += [f"--db_file={directory / 'witness.db'}", "--logtostderr"]
    with serving(command, port) as url:
        yield url


@contextlib.contextmanager
def serving(command: list[str], port: int) -> Iterator[str]:
    """A witness process listening on ``port``; yields its URL, stops it after."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: listening(url), timeout=30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def witness_vkey(key: Ed25519PrivateKey) -> str:
    return CosignatureSigner(WITNESS_NAME, key).verifier_key()


@pytest.fixture
def omniwitness(ledger: RunningLedger, tmp_path: Path) -> Iterator[WitnessClient]:
    key = Ed25519PrivateKey.generate()
    log_key = httpx.get(f"{ledger.url}/log/key").json()
    with running_omniwitness(
        tmp_path / "witness", key, log_key["origin"], log_key["verifier_key"]
    ) as url:
        client = WitnessClient(url, CosignatureVerifier(witness_vkey(key)))
        yield client
        client.close()


def listening(url: str) -> bool:
    try:
        httpx.get(url)
        return True
    except httpx.TransportError:
        return False


def checkpoint_after(ledger: RunningLedger, issuer: RegisteredIssuer, count: int) -> str:
    """The signed checkpoint once ``count`` more credentials are in the log."""
    for _ in range(count):
        issue(ledger, issuer)
    log = ledger.embedded.storage.log
    stored = ledger.embedded.storage.ledger.recorder.max_notification_id() or 0

    def covered() -> bool:
        # A checkpoint over the last of them (the anchoring's own events may follow it at once:
        # waiting for one over the whole log could miss the moment).
        index = log.store.index_of(stored)
        latest = log.store.latest_checkpoint()
        return index is not None and latest is not None and latest[0] > index

    wait_for(covered, timeout=60)
    latest = log.store.latest_checkpoint()
    assert latest is not None
    return latest[1]


def proof(ledger: RunningLedger) -> Callable[[int, int], Sequence[bytes]]:
    log = ledger.embedded.storage.log
    return lambda old, new: log.consistency_proof(old, new).hashes


def test_the_reference_witness_cosigns_successive_checkpoints(
    ledger: RunningLedger, issuer: RegisteredIssuer, omniwitness: WitnessClient
) -> None:
    first = checkpoint_after(ledger, issuer, 2)
    signed = omniwitness.cosign(first, proof(ledger))
    assert signed.name == WITNESS_NAME and abs(signed.timestamp - time.time()) < 60
    second = checkpoint_after(ledger, issuer, 3)
    omniwitness.cosign(second, proof(ledger))
    assert omniwitness.known_size == Checkpoint.parse(second.partition("\n\n")[0] + "\n").size


def test_a_log_that_lost_track_is_told_the_witness_size_and_proves_from_there(
    ledger: RunningLedger, issuer: RegisteredIssuer, omniwitness: WitnessClient
) -> None:
    omniwitness.cosign(checkpoint_after(ledger, issuer, 2), proof(ledger))
    held = omniwitness.known_size
    omniwitness.known_size = 0  # as after a restart: the witness answers 409 with its size
    later = checkpoint_after(ledger, issuer, 2)
    assert omniwitness.cosign(later, proof(ledger)).name == WITNESS_NAME
    assert omniwitness.known_size > held


def test_a_forked_checkpoint_signed_with_the_log_key_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer, omniwitness: WitnessClient
) -> None:
    note = checkpoint_after(ledger, issuer, 2)
    omniwitness.cosign(note, proof(ledger))
    real = Checkpoint.parse(note.partition("\n\n")[0] + "\n")
    settings = ledger.embedded.settings
    log_signer = NoteSigner.from_seed(settings.log_origin_value(), settings.log_key_seed())
    fork = log_signer.sign(Checkpoint(real.origin, real.size, bytes(32)).body())
    with pytest.raises(WitnessRefused) as refused:
        omniwitness.cosign(fork, proof(ledger))
    assert refused.value.status in (409, 422)
