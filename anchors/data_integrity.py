"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite, and ``did:key`` names.

Used for the ledger's own credentials (Bitstring Status Lists): Ed25519 over
``SHA-256(JCS(proof options)) || SHA-256(JCS(document))`` as the cryptosuite specifies, the
key named as a ``did:key`` so a verifier needs nothing else to find it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from anchors.merkle_proof_2019 import b58decode, b58encode

_ED25519_PUB = b"\xed\x01"  # multicodec prefix of an Ed25519 public key


def did_key(public_key: Ed25519PublicKey) -> str:
    """The ``did:key`` of an Ed25519 public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "did:key:z" + b58encode(_ED25519_PUB + raw)


def _public_key(verification_method: str) -> Ed25519PublicKey:
    did = verification_method.split("#", 1)[0]
    if not did.startswith("did:key:z"):
        raise ValueError("only did:key verification methods are resolved offline")
    decoded = b58decode(did.removeprefix("did:key:z"))
    if not decoded.startswith(_ED25519_PUB) or len(decoded) != 34:
        raise ValueError("the did:key is not an Ed25519 key")
    return Ed25519PublicKey.from_public_bytes(decoded[2:])


def _hash_data(document: dict[str, Any], options: dict[str, Any]) -> bytes:
    unproved = {k: v for k, v in document.items() if k != "proof"}
    return (
        hashlib.sha256(rfc8785.dumps(options)).digest()
        + hashlib.sha256(rfc8785.dumps(unproved)).digest()
    )


def sign(document: dict[str, Any], key: Ed25519PrivateKey, created: str) -> dict[str, Any]:
    """``document`` with an ``eddsa-jcs-2022`` proof by ``key``."""
    did = did_key(key.public_key())
    options = {
        "@context": document["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": created,
        "verificationMethod": f"{did}#{did.removeprefix('did:key:')}",
        "proofPurpose": "assertionMethod",
    }
    signature = key.sign(_hash_data(document, options))
    proof = {k: v for k, v in options.items() if k != "@context"}
    return {**document, "proof": {**proof, "proofValue": "z" + b58encode(signature)}}


def verify(document: dict[str, Any]) -> bool:
    """Whether ``document`` carries a valid ``eddsa-jcs-2022`` proof by its did:key."""
    proof = document.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "eddsa-jcs-2022":
        return False
    try:
        key = _public_key(str(proof["verificationMethod"]))
        options = {"@context": document["@context"], **proof}
        options.pop("proofValue")
        signature = b58decode(str(proof["proofValue"]).removeprefix("z"))
        key.verify(signature, _hash_data(document, options))
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True
