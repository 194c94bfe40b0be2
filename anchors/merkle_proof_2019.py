"""MerkleProof2019 proof values: the anchor-tree path of one document, as CBOR in base58btc.

The encoding is the one the Blockcerts reference verifier decodes: a CBOR array of
``[key, value]`` pairs (``merkleRoot`` 0, ``targetHash`` 1, ``anchors`` 2, ``path`` 3; path steps
``left`` 0 / ``right`` 1), hashes as CBOR byte strings wrapped once more in a byte string, an
Ethereum anchor as ``[[0, 1], [1, <chain id>], [2, <tx hash>]]`` (the keymap's network codes are
chain ids), and the whole in multibase base58btc (a leading ``z``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cbor2

from anchors.anchor_tree import PathStep

_ROOT, _TARGET, _ANCHORS, _PATH = 0, 1, 2, 3
_SIDES = {"left": 0, "right": 1}
_ETHEREUM = 1
# Network names of the verifier's keymap; other chains have no name it knows.
ETHEREUM_NETWORKS = {1: "mainnet", 3: "ropsten", 4: "rinkeby", 5: "goerli", 11155111: "sepolia"}

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


class ProofValueError(ValueError):
    """A proof value that does not decode as MerkleProof2019."""


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) of ``data``; leading zero bytes become ``1``s."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise ProofValueError(f"{char!r} is not a base58 digit")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _wrapped(raw: bytes) -> bytes:
    # Encoded once here; the outer encoding makes it a byte string holding a byte string.
    return bytes(cbor2.dumps(raw))


def _unwrapped(value: Any) -> bytes:
    # Accept both encoders in the wild: nested byte strings (JS) and text strings (Python).
    inner = cbor2.loads(value) if isinstance(value, bytes) else value
    if isinstance(inner, bytes):
        return inner
    if isinstance(inner, str):
        return bytes.fromhex(inner.removeprefix("0x"))
    raise ProofValueError(f"a hash is a byte or hex string, not {type(inner).__name__}")


@dataclass(frozen=True)
class MerkleProof2019:
    """What a proof value says: the document's leaf, its path, the root and where it is."""

    target_hash: bytes
    merkle_root: bytes
    path: tuple[PathStep, ...]
    chain_id: int
    tx_hash: bytes

    @property
    def anchor(self) -> str:
        """The blink URI of the anchor, as the verifier spells it."""
        network = ETHEREUM_NETWORKS.get(self.chain_id, str(self.chain_id))
        return f"blink:eth:{network}:0x{self.tx_hash.hex()}"

    def encode(self) -> str:
        """The ``proofValue``: ``z`` and base58btc of the CBOR pairs."""
        steps = [
            [_SIDES[side], _wrapped(bytes.fromhex(digest))]
            for step in self.path
            for side, digest in step.items()
        ]
        pairs = [
            [_ROOT, _wrapped(self.merkle_root)],
            [_TARGET, _wrapped(self.target_hash)],
            [_ANCHORS, [[[0, _ETHEREUM], [1, self.chain_id], [2, _wrapped(self.tx_hash)]]]],
            [_PATH, steps],
        ]
        return "z" + b58encode(cbor2.dumps(pairs))

    @classmethod
    def decode(cls, proof_value: str) -> MerkleProof2019:
        """Read a ``proofValue``; raises :class:`ProofValueError` for anything malformed."""
        if not proof_value.startswith("z"):
            raise ProofValueError("a MerkleProof2019 proofValue is base58btc multibase ('z…')")
        try:
            pairs = cbor2.loads(b58decode(proof_value[1:]))
            fields = {key: value for key, value in pairs}
            anchors: Sequence[Any] = fields[_ANCHORS]
            anchor = {key: value for key, value in anchors[0]}
            if anchor.get(0) != _ETHEREUM:
                raise ProofValueError("only Ethereum anchors are supported")
            sides = {code: side for side, code in _SIDES.items()}
            path = tuple(
                {sides[side]: _unwrapped(value).hex()} for side, value in fields.get(_PATH, [])
            )
            return cls(
                target_hash=_unwrapped(fields[_TARGET]),
                merkle_root=_unwrapped(fields[_ROOT]),
                path=path,
                chain_id=int(anchor[1]),
                tx_hash=_unwrapped(anchor[2]),
            )
        except ProofValueError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, cbor2.CBORDecodeError) as exc:
            raise ProofValueError(f"the proofValue does not decode: {exc}") from exc
