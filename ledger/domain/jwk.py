"""P-256 public keys as JWKs (RFC 7517) and their thumbprints (RFC 7638), which are the key
ids of the keys that sign SD-JWT VCs for issuers."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

COORDINATE_BYTES = 32


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The JWK (RFC 7517) of a P-256 public key."""
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(COORDINATE_BYTES, "big")),
        "y": _b64url(numbers.y.to_bytes(COORDINATE_BYTES, "big")),
    }


def thumbprint(jwk: dict[str, Any]) -> str:
    """The SHA-256 thumbprint of an EC public JWK: base64url of the hash of its required
    members, sorted, without whitespace."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64url(hashlib.sha256(canonical).digest())
