"""The issuer's JAdES baseline-B seal: made over the credential's bytes, checked by its
certificate, broken by any changed byte; the Commission's own seal is read and checked too."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ledger.formats.edc.credential import edc_credential
from ledger.formats.edc.demo_pki import DemoCA, SealIdentity
from ledger.formats.edc.seal import (
    MalformedSeal,
    certificate_digest,
    issuer_serial,
    read_sealed,
    seal,
    seal_holds,
    unexpected_headers,
)
from tests.ledger.formats.edc import builders

SAMPLES = Path(__file__).parent / "commission-samples"
SIGNED_AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> DemoCA:
    return DemoCA.create()


@pytest.fixture(scope="module")
def es256(ca: DemoCA) -> SealIdentity:
    return ca.issue_seal("Example Technological University", "VATIE-1234567X", "IE")


def credential() -> dict[str, Any]:
    return edc_credential(
        credential_id=builders.CREDENTIAL_ID,
        version=1,
        content=builders.content(),
        learner=builders.LEARNER,
        salt=builders.SALT,
        issuer=builders.issuer(),
    )


def header(sealed: dict[str, Any]) -> dict[str, Any]:
    protected = sealed["signatures"][0]["protected"]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(protected + "=="))
    return decoded


@pytest.mark.parametrize(
    ("rsa_key", "rsa_pss", "alg"),
    [(False, False, "ES256"), (True, False, "RS256"), (True, True, "PS256")],
)
def test_a_seal_holds_for_each_key_type(ca: DemoCA, rsa_key: bool, rsa_pss: bool, alg: str) -> None:
    identity = ca.issue_seal("Example TU", "VATIE-1234567X", "IE", rsa_key=rsa_key)
    sealed = seal(credential(), identity.chain, identity.key, SIGNED_AT, rsa_pss=rsa_pss)
    read = read_sealed(sealed)
    assert header(sealed)["alg"] == alg
    assert seal_holds(read)
    assert read.credential == credential()


def test_the_protected_header_is_exactly_jades_baseline_b(es256: SealIdentity) -> None:
    sealed = seal(credential(), es256.chain, es256.key, SIGNED_AT)
    found = header(sealed)
    assert set(found) == {"alg", "typ", "cty", "kid", "x5t#S256", "x5c", "b64", "crit", "iat"}
    assert (found["typ"], found["b64"], found["crit"]) == ("jose+json", False, ["b64"])
    assert found["iat"] == int(SIGNED_AT.timestamp())
    assert base64.b64decode(found["kid"]) == issuer_serial(es256.certificate)
    der = es256.certificate.public_bytes(serialization.Encoding.DER)
    assert base64.b64decode(found["x5c"][0]) == der
    assert read_sealed(sealed).signing_time == SIGNED_AT


def test_the_payload_is_the_credentials_json_itself_unencoded(es256: SealIdentity) -> None:
    sealed = seal(credential(), es256.chain, es256.key, SIGNED_AT)
    assert json.loads(sealed["payload"]) == credential()
    assert "Zoë" in sealed["payload"]


def test_a_changed_payload_byte_breaks_the_seal(es256: SealIdentity) -> None:
    sealed = seal(credential(), es256.chain, es256.key, SIGNED_AT)
    sealed["payload"] = sealed["payload"].replace("Zoë", "Zoe", 1)
    assert not seal_holds(read_sealed(sealed))


def test_a_changed_signature_bit_breaks_the_seal(es256: SealIdentity) -> None:
    sealed = seal(credential(), es256.chain, es256.key, SIGNED_AT)
    signature = bytearray(base64.urlsafe_b64decode(sealed["signatures"][0]["signature"] + "=="))
    signature[10] ^= 0x01
    sealed["signatures"][0]["signature"] = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    assert not seal_holds(read_sealed(sealed))


def test_the_digest_names_the_seal_not_the_file_layout(es256: SealIdentity) -> None:
    sealed = seal(credential(), es256.chain, es256.key, SIGNED_AT)
    reformatted = json.loads(json.dumps(sealed, indent=4))
    assert read_sealed(reformatted).digest == read_sealed(sealed).digest
    other = seal(credential(), es256.chain, es256.key, SIGNED_AT.replace(minute=1))
    assert read_sealed(other).digest != read_sealed(sealed).digest


def test_the_certificate_digest_is_sha256_of_its_der(es256: SealIdentity) -> None:
    assert len(certificate_digest(es256.certificate)) == 64


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.pop("payload"), "payload"),
        (lambda s: s["signatures"].append(s["signatures"][0]), "signatures"),
        (lambda s: s["signatures"][0].update(protected="!!"), "signatures[0].protected"),
        (lambda s: s.update(payload="[1]"), "payload"),
    ],
    ids=["no-payload", "two-seals", "bad-header", "not-an-object"],
)
def test_a_malformed_seal_names_the_field(es256: SealIdentity, change: Any, field: str) -> None:
    sealed = seal(credential(), es256.chain, es256.key, SIGNED_AT)
    change(sealed)
    with pytest.raises(MalformedSeal) as refused:
        read_sealed(sealed)
    assert refused.value.field == field


def test_the_commissions_sealed_sample_is_read_and_its_seal_holds() -> None:
    sealed = json.loads((SAMPLES / "Sample-MC-Annex1-signed.jsonld").read_text("utf-8"))
    read = read_sealed(sealed)
    assert read.header["alg"] == "RS256"
    assert read.signing_time == datetime(2023, 9, 27, 11, 54, 17, tzinfo=UTC)
    assert seal_holds(read)
    assert unexpected_headers(read) == ["adoTst", "sigT"]
