"""Bitstring Status Lists and their eddsa-jcs-2022 proofs."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors import data_integrity, status_list

SIZE = 131_072


def test_set_bits_read_back_as_set_and_others_as_clear() -> None:
    encoded = status_list.encode([0, 7, 8, SIZE - 1], SIZE)
    assert [status_list.is_set(encoded, i) for i in (0, 7, 8, SIZE - 1)] == [True] * 4
    assert not any(status_list.is_set(encoded, i) for i in (1, 6, 9, SIZE - 2))


def test_the_encoded_list_is_multibase_base64url_without_padding() -> None:
    encoded = status_list.encode([], SIZE)
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded


def test_an_index_outside_the_list_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        status_list.encode([SIZE], SIZE)


def _signed() -> dict[str, object]:
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": data_integrity.did_key(key.public_key()),
        "credentialSubject": {"type": "BitstringStatusList", "encodedList": "uAAAA"},
    }
    return data_integrity.sign(credential, key, "2026-11-28T10:00:00Z")


def test_a_signed_credential_verifies() -> None:
    assert data_integrity.verify(_signed())


def test_a_changed_credential_does_not_verify() -> None:
    signed = _signed()
    signed["credentialSubject"] = {"type": "BitstringStatusList", "encodedList": "uAAAB"}
    assert not data_integrity.verify(signed)


def test_the_key_is_named_as_an_ed25519_did_key() -> None:
    proof = _signed()["proof"]
    assert isinstance(proof, dict)
    assert str(proof["verificationMethod"]).startswith("did:key:z6Mk")
