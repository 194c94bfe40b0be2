"""The issuer's electronic seal over an EDC credential: JAdES baseline B (ETSI TS 119 182-1).

A sealed credential is a JWS in JSON general serialization with an unencoded payload (RFC 7797:
the credential's JSON text itself is signed). The protected header is what EU DSS expects of a
baseline-B seal: ``alg`` (ES256 for a P-256 key, RS256 or PS256 for RSA), ``typ`` ``jose+json``,
``cty``, ``kid`` (the seal certificate's IssuerSerial, DER, base64), ``x5t#S256``, ``x5c`` (the
seal certificate first, then its chain), ``b64: false`` with ``crit: ["b64"]``, and the signing
time as ``iat``. The JWS itself is made and checked by ``joserfc``; the JAdES header is ours.

Sealing happens on the issuer's side: the seal key never reaches the ledger.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import GeneralJSONSerialization, JWSRegistry
from joserfc.registry import HeaderParameter

CONTENT_TYPE = "application/ld+json"
ALGORITHMS = ("ES256", "RS256", "PS256")
# The header parameters a baseline-B seal made here carries, and no others (EU DSS names the
# certificate with x5t#o where its digest is not SHA-256).
_HEADER = {"alg", "typ", "cty", "kid", "x5t#S256", "x5t#o", "x5c", "b64", "crit", "iat"}
MAX_HEADER_BYTES = 64 * 1024
MAX_PAYLOAD_BYTES = 1024 * 1024


class _SealRegistry(JWSRegistry):
    # A seal's header carries its certificate chain: far beyond joserfc's 512-byte default.
    max_header_length = MAX_HEADER_BYTES
    max_payload_length = MAX_PAYLOAD_BYTES


def _judged_by_the_verifier(value: Any) -> None:
    """JAdES parameters judged by the verifier itself, not by the JWS layer."""


# The JAdES header parameters a seal may mark critical: iat (baseline B today), and the older
# sigT and adoTst of seals such as the Commission's 2023 sample, which must still be read.
_JADES_HEADER = {
    "iat": HeaderParameter("Signing time (JAdES baseline B)", "int"),
    "sigT": HeaderParameter("Claimed signing time (JAdES, older)", "str"),
    "adoTst": HeaderParameter("Time-stamp of the signed data (JAdES)", _judged_by_the_verifier),
}
_REGISTRY = _SealRegistry(
    header_registry=_JADES_HEADER, strict_check_header=False, algorithms=list(ALGORITHMS)
)
MAX_CHAIN = 8

SealKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class MalformedSeal(ValueError):
    """Not a sealed credential this ledger can read: ``field`` says where, the message why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class SealedCredential:
    """A sealed credential, read: the credential, its seal's header and certificates."""

    payload: bytes
    credential: dict[str, Any]
    header: dict[str, Any]
    certificates: list[x509.Certificate]
    signing_time: datetime
    digest: str
    """SHA-256 (hex) of the seal's signing input and signature: what the ledger records."""
    jws: dict[str, Any]

    @property
    def certificate(self) -> x509.Certificate:
        """The seal certificate (the first of ``x5c``)."""
        return self.certificates[0]


def certificate_digest(certificate: x509.Certificate) -> str:
    """SHA-256 (hex) of a certificate's DER: how the register names a seal certificate."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def issuer_serial(certificate: x509.Certificate) -> bytes:
    """The DER IssuerSerial (RFC 5035) of a certificate: ``kid`` in a JAdES header."""
    name = certificate.issuer.public_bytes()
    general_names = _der(0x30, _der(0xA4, name))  # SEQUENCE OF GeneralName, [4] directoryName
    serial = certificate.serial_number
    serial_bytes = serial.to_bytes((serial.bit_length() + 8) // 8, "big")  # two's complement
    return _der(0x30, general_names + _der(0x02, serial_bytes))


def algorithm_for(key: SealKey, rsa_pss: bool = False) -> str:
    """The JWS algorithm of a seal key: ES256 for P-256, RS256 (or PS256) for RSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("an EC seal key must be on P-256 (ES256)")
        return "ES256"
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ValueError("an RSA seal key must have at least 2048 bits")
        return "PS256" if rsa_pss else "RS256"
    raise ValueError("a seal key must be an EC P-256 or an RSA key")


def _pem(key: Any) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    pem: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


@lru_cache(maxsize=64)
def _signing_jwk(key: SealKey) -> ECKey | RSAKey:
    """The joserfc key of a seal key (cached: importing an RSA private key validates it, which
    costs far more than a signature)."""
    return _jwk(key)


def _jwk(key: Any) -> ECKey | RSAKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return ECKey.import_key(_pem(key))
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return RSAKey.import_key(_pem(key))
    raise ValueError("the seal certificate's key is neither EC nor RSA")


def seal(
    credential: dict[str, Any],
    chain: list[x509.Certificate],
    key: SealKey,
    signed_at: datetime,
    *,
    rsa_pss: bool = False,
) -> dict[str, Any]:
    """Seal ``credential`` with ``key`` as JAdES baseline B; ``chain`` starts with the seal
    certificate (whose key ``key`` is)."""
    certificate = chain[0]
    der = certificate.public_bytes(serialization.Encoding.DER)
    header = {
        "alg": algorithm_for(key, rsa_pss),
        "typ": "jose+json",
        "cty": CONTENT_TYPE,
        "kid": base64.b64encode(issuer_serial(certificate)).decode("ascii"),
        "x5t#S256": _b64url(hashlib.sha256(der).digest()),
        "x5c": [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii")
            for c in chain
        ],
        "b64": False,
        "crit": ["b64"],
        "iat": int(signed_at.timestamp()),
    }
    sealed = jws.serialize_json(
        [{"protected": header}], payload_bytes(credential), _signing_jwk(key), registry=_REGISTRY
    )
    return dict(sealed)


def payload_bytes(credential: dict[str, Any]) -> bytes:
    """The credential's JSON as sealed: keys sorted, no insignificant whitespace, UTF-8.

    Deterministic, so the same version seals the same bytes; a verifier compares the parsed
    payload, never these bytes, with the ledger's record.
    """
    return json.dumps(credential, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def _digest(protected: str, payload: bytes, signature: str) -> str:
    return hashlib.sha256(
        protected.encode("ascii") + b"." + payload + b"." + signature.encode("ascii")
    ).hexdigest()


def _certificates(values: Any) -> list[x509.Certificate]:
    if not isinstance(values, list) or not values or len(values) > MAX_CHAIN:
        raise MalformedSeal("x5c", f"must list 1 to {MAX_CHAIN} certificates")
    found = []
    for index, value in enumerate(values):
        try:
            found.append(x509.load_der_x509_certificate(base64.b64decode(value, validate=True)))
        except (TypeError, ValueError) as exc:
            raise MalformedSeal(f"x5c[{index}]", f"not a base64 DER certificate ({exc})") from None
    return found


def _header(protected: Any) -> dict[str, Any]:
    if not isinstance(protected, str):
        raise MalformedSeal("signatures[0].protected", "must be a base64url string")
    try:
        header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise MalformedSeal("signatures[0].protected", "is not base64url JSON") from None
    if not isinstance(header, dict):
        raise MalformedSeal("signatures[0].protected", "must be a JSON object")
    if header.get("alg") not in ALGORITHMS:
        raise MalformedSeal("alg", f"must be one of {', '.join(ALGORITHMS)}")
    crit = header.get("crit")
    if header.get("b64") is not False or not isinstance(crit, list) or "b64" not in crit:
        raise MalformedSeal("b64", 'the payload must be unencoded: "b64": false, "crit": ["b64"]')
    return header


def _signing_time(header: dict[str, Any]) -> datetime:
    """``iat`` (a numeric date), or the older JAdES ``sigT`` (an ISO 8601 UTC date-time)."""
    iat = header.get("iat")
    if isinstance(iat, int) and not isinstance(iat, bool):
        try:
            return datetime.fromtimestamp(iat, UTC)
        except (OverflowError, OSError, ValueError):
            raise MalformedSeal("iat", "is not a representable date") from None
    sig_t = header.get("sigT")
    if isinstance(sig_t, str):
        try:
            found = datetime.fromisoformat(sig_t.replace("Z", "+00:00"))
        except ValueError:
            raise MalformedSeal("sigT", "is not an ISO 8601 date-time") from None
        if found.tzinfo is not None:
            return found.astimezone(UTC)
    raise MalformedSeal("iat", "the signing time must be a numeric date")


_DIGESTS = {"S256": hashlib.sha256, "S384": hashlib.sha384, "S512": hashlib.sha512}


def _check_certificate_reference(header: dict[str, Any], certificate: x509.Certificate) -> None:
    """The header's digest of the signing certificate (``x5t#S256``, or JAdES ``x5t#o`` with
    another algorithm, as EU DSS writes by default) must be the first x5c certificate's."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    if "x5t#S256" in header:
        if header["x5t#S256"] != _b64url(hashlib.sha256(der).digest()):
            raise MalformedSeal("x5t#S256", "is not the digest of the first x5c certificate")
        return
    reference = header.get("x5t#o")
    if isinstance(reference, dict) and reference.get("digAlg") in _DIGESTS:
        digest = _DIGESTS[reference["digAlg"]](der).digest()
        if reference.get("digVal") != _b64url(digest):
            raise MalformedSeal("x5t#o", "is not the digest of the first x5c certificate")
        return
    raise MalformedSeal("x5t#S256", "the seal must name its certificate's digest")


def read_sealed(sealed: Any) -> SealedCredential:
    """Read a sealed credential's parts without judging the seal (see :func:`seal_holds`)."""
    if not isinstance(sealed, dict) or not isinstance(sealed.get("payload"), str):
        raise MalformedSeal("payload", "a sealed credential is a JWS JSON object with a payload")
    signatures = sealed.get("signatures")
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise MalformedSeal("signatures", "must hold exactly one seal")
    (signature,) = signatures
    if not isinstance(signature, dict) or not isinstance(signature.get("signature"), str):
        raise MalformedSeal("signatures[0].signature", "must be a base64url string")
    header = _header(signature.get("protected"))
    certificates = _certificates(header.get("x5c"))
    _check_certificate_reference(header, certificates[0])
    payload = sealed["payload"].encode("utf-8")
    try:
        credential = json.loads(payload)
    except ValueError:
        raise MalformedSeal("payload", "is not JSON") from None
    if not isinstance(credential, dict):
        raise MalformedSeal("payload", "must be a JSON object (the credential)")
    return SealedCredential(
        payload=payload,
        credential=credential,
        header=header,
        certificates=certificates,
        signing_time=_signing_time(header),
        digest=_digest(signature["protected"], payload, signature["signature"]),
        jws={
            "payload": sealed["payload"],
            "signatures": [
                {"protected": signature["protected"], "signature": signature["signature"]}
            ],
        },
    )


def seal_holds(sealed: SealedCredential) -> bool:
    """Whether the seal's signature over the payload verifies with the seal certificate."""
    try:
        jws.deserialize_json(
            cast(GeneralJSONSerialization, sealed.jws),
            _jwk(sealed.certificate.public_key()),
            registry=_REGISTRY,
        )
    except (JoseError, ValueError):
        return False
    return True


def unexpected_headers(sealed: SealedCredential) -> list[str]:
    """Header parameters beyond a baseline-B seal's (the Commission's older ``sigT`` among
    them): reported, since EU DSS no longer reads them as ETSI for recent signing times."""
    return sorted(set(sealed.header) - _HEADER)
