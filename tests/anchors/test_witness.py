"""Witnesses cosign only consistent checkpoints, refuse forks with evidence, and a quorum of
them verifies as one aggregate BLS signature."""

from __future__ import annotations

from pathlib import Path

import pytest

from anchors.checkpoint import NoteSigner, NoteVerifier
from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from anchors.merkle import VerificationError
from anchors.witness import (
    ForkDetected,
    Witness,
    WitnessKey,
    aggregate,
    verify_cosignature,
    verify_possession,
    verify_quorum,
)
from tests.conftest import store_independent

ORIGIN = "example.org/log"
SIGNER = NoteSigner.from_seed(ORIGIN, bytes(range(32)))
LOG_KEY = NoteVerifier.parse(SIGNER.verifier_key())

pytestmark = store_independent  # an in-memory log: the SQLite pass runs these


def grown_log(entries: list[bytes]) -> TransparencyLog:
    log = TransparencyLog(MemoryLogStore())
    log.append(entries, list(range(1, len(entries) + 1)))
    return log


def checkpoint_of(log: TransparencyLog) -> str:
    return log.sign_checkpoint(SIGNER, ORIGIN)[1]


def body(note: str) -> str:
    return note.partition("\n\n")[0] + "\n"


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness(WitnessKey.generate(), tmp_path / "witness.json")


def test_a_witness_cosigns_a_growing_consistent_log(witness: Witness) -> None:
    log = grown_log([b"a", b"b", b"c"])
    first = checkpoint_of(log)
    signature = witness.cosign(first, [], LOG_KEY, ORIGIN)
    assert verify_cosignature(witness.key.public, body(first), signature)
    log.append([b"d", b"e"], [4, 5])
    second = checkpoint_of(log)
    proof = log.consistency_proof(3, 5).hashes
    assert verify_cosignature(
        witness.key.public, body(second), witness.cosign(second, proof, LOG_KEY, ORIGIN)
    )
    assert witness.last(ORIGIN) == second


def test_two_checkpoints_of_one_size_are_refused_as_a_fork_with_evidence(
    witness: Witness,
) -> None:
    honest = checkpoint_of(grown_log([b"a", b"b", b"c"]))
    witness.cosign(honest, [], LOG_KEY, ORIGIN)
    forked = checkpoint_of(grown_log([b"a", b"b", b"X"]))
    with pytest.raises(ForkDetected) as caught:
        witness.cosign(forked, [], LOG_KEY, ORIGIN)
    assert caught.value.evidence == (honest, forked)
    assert witness.last(ORIGIN) == honest


def test_a_rewritten_longer_history_is_refused(witness: Witness) -> None:
    witness.cosign(checkpoint_of(grown_log([b"a", b"b", b"c"])), [], LOG_KEY, ORIGIN)
    rewritten = grown_log([b"a", b"X", b"c", b"d"])
    with pytest.raises(ForkDetected, match="no consistency"):
        witness.cosign(
            checkpoint_of(rewritten), rewritten.consistency_proof(3, 4).hashes, LOG_KEY, ORIGIN
        )


def test_a_shrinking_log_is_refused(witness: Witness) -> None:
    witness.cosign(checkpoint_of(grown_log([b"a", b"b", b"c"])), [], LOG_KEY, ORIGIN)
    with pytest.raises(VerificationError, match="went back"):
        witness.cosign(checkpoint_of(grown_log([b"a", b"b"])), [], LOG_KEY, ORIGIN)


def test_a_note_not_signed_by_the_log_is_refused(witness: Witness) -> None:
    impostor = NoteSigner.from_seed(ORIGIN, bytes(32))
    log = grown_log([b"a"])
    with pytest.raises(VerificationError):
        witness.cosign(log.sign_checkpoint(impostor, ORIGIN)[1], [], LOG_KEY, ORIGIN)


def test_two_of_three_witnesses_verify_as_one_aggregate_and_forgeries_fail(
    tmp_path: Path,
) -> None:
    keys = [WitnessKey.generate() for _ in range(3)]
    assert all(verify_possession(k.public, k.proof_of_possession()) for k in keys)
    trusted = frozenset(k.public for k in keys)
    note = checkpoint_of(grown_log([b"a", b"b"]))
    text = body(note)
    signatures = [
        Witness(k, tmp_path / f"w{i}.json").cosign(note, [], LOG_KEY, ORIGIN)
        for i, k in enumerate(keys[:2])
    ]
    signers = (keys[0].public, keys[1].public)
    assert verify_quorum(text, signers, aggregate(signatures), trusted, 2)
    # Missing: one cosignature is not a quorum of two.
    assert not verify_quorum(text, signers[:1], aggregate(signatures[:1]), trusted, 2)
    # Forged: a stranger's signature claimed as the third witness's.
    stranger = WitnessKey.generate().sign(text)
    claimed = (keys[0].public, keys[2].public)
    assert not verify_quorum(text, claimed, aggregate([signatures[0], stranger]), trusted, 2)
    # An untrusted key does not count, even with a valid signature.
    outsider = WitnessKey.generate()
    assert not verify_quorum(
        text,
        (keys[0].public, outsider.public),
        aggregate([signatures[0], outsider.sign(text)]),
        trusted,
        2,
    )
