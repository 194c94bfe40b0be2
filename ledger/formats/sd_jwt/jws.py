"""Compact JWS signed with ES256 (RFC 7515, RFC 7518) and P-256 public keys as JWKs (RFC 7517;
thumbprints, RFC 7638, in :mod:`ledger.domain.jwk`).

Only ES256 is taken: it is what the EU wallet profile (HAIP) requires, and a verifier that
accepts one algorithm cannot be talked into another (``none``, or HMAC with a public key).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ledger.domain.jwk import COORDINATE_BYTES as _COORDINATE_BYTES

ALGORITHM = "ES256"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# Longer than any token this ledger issues or is shown (an SD-JWT VC with every disclosure is
# a few kilobytes); a bound before any parsing.
MAX_TOKEN_CHARS = 65_536


class JwsError(ValueError):
    """A token or key that is not what it must be; ``reason`` says what."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: any other character is an error, not skipped."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise JwsError("is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise JwsError("is not base64url") from None


def json_part(value: dict[str, Any]) -> str:
    """A header or payload as base64url of compact UTF-8 JSON."""
    return b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part))
    except (JwsError, ValueError, RecursionError):
        raise JwsError(f"its {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise JwsError(f"its {what} is not a JSON object")
    return value


@dataclass(frozen=True)
class CompactJws:
    """A parsed compact JWS; nothing about it is trusted until :func:`verifies` says so."""

    token: str
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse(token: str) -> CompactJws:
    """Split and decode ``header.payload.signature``; the header must name ES256."""
    if len(token) > MAX_TOKEN_CHARS:
        raise JwsError(f"is longer than {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("is not a compact JWS (three base64url parts separated by dots)")
    header = _json_object(parts[0], "header")
    payload = _json_object(parts[1], "payload")
    if header.get("alg") != ALGORITHM:
        raise JwsError(f"is signed with {header.get('alg')!r}; only {ALGORITHM} is accepted")
    if "crit" in header:
        raise JwsError("names critical header parameters this verifier does not understand")
    signature = b64url_decode(parts[2])
    return CompactJws(token, header, payload, f"{parts[0]}.{parts[1]}".encode(), signature)


def sign(header: dict[str, Any], payload: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """The compact JWS of ``payload`` with ``header`` (``alg`` is set to ES256)."""
    signing_input = f"{json_part({**header, 'alg': ALGORITHM})}.{json_part(payload)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
    return f"{signing_input}.{b64url(raw)}"


def verifies(jws: CompactJws, key: ec.EllipticCurvePublicKey) -> bool:
    """Whether the ES256 signature (raw r||s, RFC 7518 section 3.4) holds under ``key``."""
    if len(jws.signature) != 2 * _COORDINATE_BYTES:
        return False
    r = int.from_bytes(jws.signature[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(jws.signature[_COORDINATE_BYTES:], "big")
    try:
        key.verify(encode_dss_signature(r, s), jws.signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def public_key(jwk: Any) -> ec.EllipticCurvePublicKey:
    """The P-256 public key a JWK names; a private key (``d``) is refused, never used."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise JwsError("is not a P-256 public key JWK (kty EC, crv P-256)")
    if "d" in jwk:
        raise JwsError("carries a private key: a public JWK must not")
    x, y = jwk.get("x"), jwk.get("y")
    if not isinstance(x, str) or not isinstance(y, str):
        raise JwsError("lacks the x or y coordinate")
    xb, yb = b64url_decode(x), b64url_decode(y)
    if len(xb) != _COORDINATE_BYTES or len(yb) != _COORDINATE_BYTES:
        raise JwsError("has coordinates that are not 32 bytes")
    try:
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(xb, "big"), int.from_bytes(yb, "big"), ec.SECP256R1()
        ).public_key()
    except ValueError:
        raise JwsError("is not a point on P-256") from None
