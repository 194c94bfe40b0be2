"""An issuer's electronic-seal certificate, as the register keeps it.

An issuer registers the X.509 certificate it seals EDC credentials with (the key stays with the
issuer). The register keeps the certificate's SHA-256, its validity period and the
organisation identifier it names (``organizationIdentifier``, ETSI EN 319 412-1: the eIDAS
legal identifier an EDC issuer must carry, such as ``VATIE-1234567X``). Only a certificate for
sealing is taken: not a CA, with the non-repudiation or digital-signature key usage, and an
EC P-256 or RSA (2048 bits or more) key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ledger.domain.errors import FieldError

MAX_PEM_CHARS = 16_384
# ETSI EN 319 412-1 §5.1.4: three letters of the identity type, two of the country, "-", id.
_LEGAL_IDENTIFIER = re.compile(r"(VAT|NTR|PSD|LEI)([A-Z]{2})-[A-Za-z0-9.\-/]{1,64}")
# ISO 3166 alpha-2 codes whose EU authority country code differs from the alpha-3 form.
_EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"
_ALPHA3 = {
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "CH": "CHE", "CY": "CYP", "CZ": "CZE", "DE": "DEU",
    "DK": "DNK", "EE": "EST", "EL": "GRC", "ES": "ESP", "FI": "FIN", "FR": "FRA", "GB": "GBR",
    "GR": "GRC", "HR": "HRV", "HU": "HUN", "IE": "IRL", "IS": "ISL", "IT": "ITA", "LI": "LIE",
    "LT": "LTU", "LU": "LUX", "LV": "LVA", "MK": "MKD", "MT": "MLT", "NL": "NLD", "NO": "NOR",
    "PL": "POL", "PT": "PRT", "RO": "ROU", "RS": "SRB", "SE": "SWE", "SI": "SVN", "SK": "SVK",
    "TR": "TUR", "UA": "UKR", "XI": "GBR",
}  # fmt: skip


@dataclass(frozen=True)
class SealCertificate:
    """What the register keeps of a seal certificate."""

    sha256: str
    not_before: datetime
    not_after: datetime
    legal_identifier: str
    country: str
    """The EU authority country URI of the legal identifier's country."""
    subject: str

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at <= self.not_after


class CertificateRefused(ValueError):
    """The certificate cannot serve as a seal certificate; ``error`` says why."""

    def __init__(self, error: FieldError) -> None:
        super().__init__(error.message)
        self.error = error


def _refuse(field: str, rule: str, message: str) -> CertificateRefused:
    return CertificateRefused(FieldError(field, rule, message))


def parse_seal_certificate(pem: str, field: str = "command.certificate") -> SealCertificate:
    """Read a PEM seal certificate, or say which rule it breaks."""
    if len(pem) > MAX_PEM_CHARS:
        raise _refuse(field, "too-large", f"must be at most {MAX_PEM_CHARS} characters")
    if pem.count("-----BEGIN CERTIFICATE-----") != 1:
        raise _refuse(field, "one-certificate", "must be exactly one PEM certificate")
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise _refuse(field, "pem", "is not a PEM X.509 certificate") from None
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise _refuse(field, "key-type", "an EC seal key must be on P-256 (ES256)")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise _refuse(field, "key-type", "an RSA seal key must have at least 2048 bits")
    else:
        raise _refuse(field, "key-type", "the key must be EC P-256 or RSA")
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        if constraints.value.ca:
            raise _refuse(field, "not-a-seal", "is a CA certificate, not a seal certificate")
    except x509.ExtensionNotFound:
        pass
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.content_commitment or usage.digital_signature):
            raise _refuse(field, "key-usage", "must allow non-repudiation or digital signatures")
    except x509.ExtensionNotFound:
        pass
    names = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    if len(names) != 1:
        raise _refuse(
            field,
            "organization-identifier",
            "must name the organisation's identifier (organizationIdentifier, such as "
            "VATIE-1234567X): it is the issuer's eIDAS legal identifier in EDC credentials",
        )
    identifier = str(names[0].value)
    found = _LEGAL_IDENTIFIER.fullmatch(identifier)
    if found is None or found.group(2) not in _ALPHA3:
        raise _refuse(
            field,
            "organization-identifier",
            f"{identifier!r} is not an ETSI EN 319 412-1 identifier of a European "
            "organisation (VAT, NTR, PSD or LEI, a country code, '-', the number)",
        )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return SealCertificate(
        sha256=hashlib.sha256(der).hexdigest(),
        not_before=certificate.not_valid_before_utc.astimezone(UTC),
        not_after=certificate.not_valid_after_utc.astimezone(UTC),
        legal_identifier=identifier,
        country=_EU_COUNTRY + _ALPHA3[found.group(2)],
        subject=certificate.subject.rfc4514_string(),
    )
