"""A demonstration PKI: a CA and electronic-seal certificates it issues, for the demo and tests.

A real issuer seals with a certificate from a trust service provider (qualified for Europass);
these are for trying the whole path on one machine. The seal certificate carries what a seal
verifier looks for: the organisation's identifier (``organizationIdentifier``, the eIDAS legal
identifier the register takes from it), non-repudiation key usage, and ``noRevAvail``
(RFC 9608): no revocation information is published for it, so validators do not look for any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

from ledger.formats.edc.seal import SealKey

NO_REV_AVAIL = ObjectIdentifier("2.5.29.56")
_DER_NULL = b"\x05\x00"


@dataclass(frozen=True)
class SealIdentity:
    """A seal certificate with its key and the chain up to (not including) the CA."""

    certificate: x509.Certificate
    key: SealKey
    chain: list[x509.Certificate]

    def certificate_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass(frozen=True)
class DemoCA:
    """A self-signed CA that issues seal certificates."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str = "credledger demo CA", now: datetime | None = None) -> DemoCA:
        now = now or datetime.now(UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "credledger demonstration"),
                x509.NameAttribute(NameOID.COUNTRY_NAME, "IE"),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    def issue_seal(
        self,
        organisation: str,
        legal_identifier: str,
        country: str,
        *,
        rsa_key: bool = False,
        not_before: datetime | None = None,
        days: int = 825,
    ) -> SealIdentity:
        """A seal certificate for ``organisation`` (``legal_identifier`` as eIDAS writes it,
        such as ``VATIE-1234567X``; ``country`` its ISO 3166 alpha-2 code)."""
        start = not_before or datetime.now(UTC) - timedelta(minutes=5)
        key: SealKey = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if rsa_key
            else ec.generate_private_key(ec.SECP256R1())
        )
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} seal"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, legal_identifier),
                x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(x509.UnrecognizedExtension(NO_REV_AVAIL, _DER_NULL), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return SealIdentity(certificate, key, [certificate])

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)
