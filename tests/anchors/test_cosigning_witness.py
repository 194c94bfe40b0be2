"""A C2SP tlog-witness of our own: it cosigns a log's checkpoints only if the log signed them
and each is proved consistent with the last one cosigned, persists before it answers, and keeps
the evidence of a fork."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import Checkpoint, NoteSigner
from anchors.cosignature import Cosignature, CosignatureSigner, CosignatureVerifier
from anchors.cosigning_witness import CosigningWitness
from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from anchors.tlog_witness import request_body

ORIGIN = "example.org/log"
LOG_KEY = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
WITNESS = CosignatureSigner("witness.example", Ed25519PrivateKey.generate())


class Log:
    def __init__(self) -> None:
        self.log = TransparencyLog(MemoryLogStore())

    def grow(self, count: int) -> str:
        size = self.log.size()
        self.log.append([b"e%d" % i for i in range(size, size + count)], [size + 1] * count)
        return self.log.sign_checkpoint(LOG_KEY, ORIGIN)[1]

    def request(self, old: int, note: str) -> bytes:
        new = Checkpoint.parse(note.partition("\n\n")[0] + "\n").size
        proof = self.log.consistency_proof(old, new).hashes if 0 < old < new else ()
        return request_body(old, proof, note)


@pytest.fixture
def witness(tmp_path: Path) -> CosigningWitness:
    return CosigningWitness(WITNESS, {ORIGIN: LOG_KEY.verifier_key()}, tmp_path / "state.json")


def cosigned(note: str, line: str) -> bool:
    body = note.partition("\n\n")[0] + "\n"
    return CosignatureVerifier(WITNESS.verifier_key()).verifies(body, Cosignature.parse(line))


def test_a_first_checkpoint_and_a_consistent_next_one_are_cosigned(
    witness: CosigningWitness,
) -> None:
    log = Log()
    first = log.grow(5)
    answer = witness.add_checkpoint(log.request(0, first))
    assert answer.status == 200 and cosigned(first, answer.body)
    second = log.grow(300)
    answer = witness.add_checkpoint(log.request(5, second))
    assert answer.status == 200 and cosigned(second, answer.body)


def test_a_stale_old_size_is_answered_409_with_the_size_held(witness: CosigningWitness) -> None:
    log = Log()
    witness.add_checkpoint(log.request(0, log.grow(5)))
    answer = witness.add_checkpoint(log.request(0, log.grow(3)))
    assert (answer.status, answer.media_type, answer.body) == (409, "text/x.tlog.size", "5\n")


def test_a_proof_that_does_not_connect_is_422(witness: CosigningWitness) -> None:
    log = Log()
    witness.add_checkpoint(log.request(0, log.grow(5)))
    note = log.grow(6)
    answer = witness.add_checkpoint(request_body(5, [bytes(32)] * 3, note))
    assert answer.status == 422


def test_a_fork_is_refused_and_both_notes_kept(witness: CosigningWitness, tmp_path: Path) -> None:
    log = Log()
    held = log.grow(5)
    witness.add_checkpoint(log.request(0, held))
    fork = LOG_KEY.sign(Checkpoint(ORIGIN, 5, bytes(32)).body())
    answer = witness.add_checkpoint(request_body(5, [], fork))
    assert answer.status == 409 and "fork" in answer.body
    (evidence,) = (tmp_path / "evidence").iterdir()
    assert held in evidence.read_text() and fork in evidence.read_text()


def test_a_checkpoint_the_log_did_not_sign_is_403(witness: CosigningWitness) -> None:
    impostor = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    note = impostor.sign(Checkpoint(ORIGIN, 1, bytes(32)).body())
    assert witness.add_checkpoint(request_body(0, [], note)).status == 403


def test_an_unknown_log_is_404(witness: CosigningWitness) -> None:
    other = NoteSigner("other.org/log", Ed25519PrivateKey.generate())
    note = other.sign(Checkpoint("other.org/log", 1, bytes(32)).body())
    assert witness.add_checkpoint(request_body(0, [], note)).status == 404


@pytest.mark.parametrize(
    "body",
    [b"", b"old x\n\nnote", b"new 1\n\nnote", b"old 1\n!!!\n\nnote", b"old 0\nnote only"],
)
def test_a_malformed_request_is_400(witness: CosigningWitness, body: bytes) -> None:
    assert witness.add_checkpoint(body).status == 400


def test_what_was_cosigned_survives_a_restart(tmp_path: Path) -> None:
    log = Log()
    first = CosigningWitness(WITNESS, {ORIGIN: LOG_KEY.verifier_key()}, tmp_path / "state.json")
    first.add_checkpoint(log.request(0, log.grow(5)))
    again = CosigningWitness(WITNESS, {ORIGIN: LOG_KEY.verifier_key()}, tmp_path / "state.json")
    stale = again.add_checkpoint(log.request(0, log.grow(2)))
    assert (stale.status, stale.body) == (409, "5\n")


def test_the_key_reads_back_from_its_private_key_form() -> None:
    again = CosignatureSigner.from_private_key(WITNESS.private_key())
    assert again.verifier_key() == WITNESS.verifier_key()
    assert WITNESS.private_key().startswith("PRIVATE+KEY+witness.example+")
    raw = base64.b64decode(WITNESS.private_key().split("+", 4)[4])
    assert raw[:1] == b"\x01" and len(raw) == 33
