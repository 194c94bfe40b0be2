"""Witnesses: independent parties that cosign a log's checkpoints with BLS12-381 keys.

A witness cosigns a checkpoint only if a consistency proof connects it to the last checkpoint
it cosigned for that origin, so a cosignature means "this is the largest consistent tree I have
seen". Shown two checkpoints of one size with different roots, it refuses and keeps both signed
notes as evidence of the fork. Cosignatures over the same checkpoint aggregate into one
signature (py-ecc's G2 proof-of-possession scheme), which verifies for a quorum of witness keys
in one check; keys come with a proof of possession, so no rogue key can forge an aggregate.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls.ciphersuites import G2ProofOfPossession as bls

from anchors.checkpoint import NoteVerifier, verify_checkpoint
from anchors.merkle import VerificationError, verify_consistency

_DOMAIN = b"credledger/cosignature/v1\n"


def cosigned_message(checkpoint_body: str) -> bytes:
    """What witnesses sign: a fixed domain line, then the checkpoint's text."""
    return _DOMAIN + checkpoint_body.encode()


class ForkDetected(VerificationError):
    """Two checkpoints that no consistency proof connects; ``evidence`` holds both notes."""

    def __init__(self, message: str, evidence: tuple[str, str]) -> None:
        super().__init__(message)
        self.evidence = evidence


@dataclass(frozen=True)
class WitnessKey:
    secret: int

    @classmethod
    def generate(cls) -> WitnessKey:
        return cls(bls.KeyGen(secrets.token_bytes(32)))

    @property
    def public(self) -> str:
        return bytes(bls.SkToPk(self.secret)).hex()

    def proof_of_possession(self) -> str:
        return bytes(bls.PopProve(self.secret)).hex()

    def sign(self, checkpoint_body: str) -> str:
        return bytes(bls.Sign(self.secret, cosigned_message(checkpoint_body))).hex()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"secret": hex(self.secret), "public": self.public}, handle)

    @classmethod
    def load(cls, path: Path) -> WitnessKey:
        return cls(int(json.loads(path.read_text("utf-8"))["secret"], 16))


class Witness:
    """One witness's memory of what it cosigned, per log origin, kept in a JSON file."""

    def __init__(self, key: WitnessKey, state_file: Path) -> None:
        self.key = key
        self._state_file = state_file

    def _state(self) -> dict[str, str]:
        if not self._state_file.exists():
            return {}
        state: dict[str, str] = json.loads(self._state_file.read_text("utf-8"))
        return state

    def last(self, origin: str) -> str | None:
        """The last checkpoint note cosigned for ``origin``."""
        return self._state().get(origin)

    def cosign(self, note: str, proof: Sequence[bytes], log_key: NoteVerifier, origin: str) -> str:
        """Cosign ``note`` if it is the log's and consistent with the last one cosigned."""
        new = verify_checkpoint(note, log_key, origin)
        previous_note = self.last(origin)
        if previous_note is not None:
            old = verify_checkpoint(previous_note, log_key, origin)
            if new.size == old.size and new.root != old.root:
                raise ForkDetected(
                    f"two checkpoints of size {new.size} with different roots",
                    (previous_note, note),
                )
            if new.size < old.size:
                raise VerificationError(f"the log went back from {old.size} to {new.size} entries")
            if new.size > old.size:
                try:
                    verify_consistency(old.size, new.size, old.root, new.root, list(proof))
                except VerificationError as exc:
                    raise ForkDetected(
                        f"no consistency from {old.size} to {new.size}: {exc}",
                        (previous_note, note),
                    ) from None
        state = self._state()
        state[origin] = note
        self._state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
        return self.key.sign(_body(note))


def _body(note: str) -> str:
    return note.partition("\n\n")[0] + "\n"


def aggregate(signatures: Sequence[str]) -> str:
    """One signature standing for all the given cosignatures."""
    return bytes(bls.Aggregate([BLSSignature(bytes.fromhex(s)) for s in signatures])).hex()


def verify_cosignature(public: str, checkpoint_body: str, signature: str) -> bool:
    try:
        return bool(
            bls.Verify(
                BLSPubkey(bytes.fromhex(public)),
                cosigned_message(checkpoint_body),
                BLSSignature(bytes.fromhex(signature)),
            )
        )
    except (ValueError, AssertionError):
        return False


def verify_possession(public: str, proof: str) -> bool:
    try:
        return bool(
            bls.PopVerify(BLSPubkey(bytes.fromhex(public)), BLSSignature(bytes.fromhex(proof)))
        )
    except (ValueError, AssertionError):
        return False


@lru_cache(maxsize=4096)
def verify_quorum(
    checkpoint_body: str,
    signers: tuple[str, ...],
    aggregate_signature: str,
    trusted: frozenset[str],
    quorum: int,
) -> bool:
    """Whether at least ``quorum`` distinct trusted witnesses cosigned, in one aggregate check.

    Cached per checkpoint: a BLS verification in py-ecc takes a good part of a second.
    """
    distinct = set(signers)
    if len(distinct) != len(signers) or not distinct <= trusted or len(distinct) < quorum:
        return False
    try:
        return bool(
            bls.FastAggregateVerify(
                [BLSPubkey(bytes.fromhex(s)) for s in signers],
                cosigned_message(checkpoint_body),
                BLSSignature(bytes.fromhex(aggregate_signature)),
            )
        )
    except (ValueError, AssertionError):
        return False
