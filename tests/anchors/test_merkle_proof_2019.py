"""MerkleProof2019 proof values as the Blockcerts verifier decodes them."""

from __future__ import annotations

import cbor2
import pytest

from anchors.merkle_proof_2019 import (
    MerkleProof2019,
    ProofValueError,
    b58decode,
    b58encode,
)

PROOF = MerkleProof2019(
    target_hash=bytes(range(32)),
    merkle_root=bytes(range(1, 33)),
    path=({"left": "aa" * 32}, {"right": "bb" * 32}),
    chain_id=11155111,
    tx_hash=bytes(range(2, 34)),
)


def test_a_proof_value_decodes_to_what_was_encoded() -> None:
    assert MerkleProof2019.decode(PROOF.encode()) == PROOF


def test_the_proof_value_is_base58btc_multibase() -> None:
    assert PROOF.encode().startswith("z")


def test_hashes_are_byte_strings_holding_the_cbor_of_the_hash() -> None:
    pairs = dict(cbor2.loads(b58decode(PROOF.encode()[1:])))
    assert cbor2.loads(pairs[1]) == PROOF.target_hash
    assert pairs[2][0][:2] == [[0, 1], [1, 11155111]]


def test_the_anchor_names_sepolia_by_its_chain_id() -> None:
    assert PROOF.anchor == f"blink:eth:sepolia:0x{PROOF.tx_hash.hex()}"


def test_the_text_string_form_cert_issuer_writes_also_decodes() -> None:
    # cert-issuer's Python encoder stores hex text; its txid keeps the 0x.
    pairs = [
        [0, PROOF.merkle_root.hex()],
        [1, PROOF.target_hash.hex()],
        [2, [[[0, 1], [1, 11155111], [2, "0x" + PROOF.tx_hash.hex()]]]],
        [3, [[0, "aa" * 32], [1, "bb" * 32]]],
    ]
    encoded = "z" + b58encode(cbor2.dumps(pairs))
    assert MerkleProof2019.decode(encoded) == PROOF


@pytest.mark.parametrize("value", ["", "abc", "z0OIl", "z" + b58encode(b"\x01\x02")])
def test_a_malformed_proof_value_is_a_proof_value_error(value: str) -> None:
    with pytest.raises(ProofValueError):
        MerkleProof2019.decode(value)


def test_base58_keeps_leading_zero_bytes() -> None:
    assert b58decode(b58encode(b"\x00\x00\x01")) == b"\x00\x00\x01"
