"""Electronic seals for Europass EDC credentials, on the issuer's side: the seal certificate
in the register (``credledger seal-cert``), and sealing the credentials the ledger hands out
(``credledger documents --format edc``). The seal key never leaves this machine."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ledger.cli import options
from ledger.client import CommandSigner, LedgerClient
from ledger.domain.signing import IssuerKey
from ledger.formats.edc.seal import SealKey, certificate_digest, seal

# Sealed credentials are some 15 kB each: this many fit well within one request's limit.
RECORDS_PER_REQUEST = 50


def _signer(key_file: Path, issuer_id: str) -> CommandSigner:
    return CommandSigner(IssuerKey.load(key_file), issuer_id)


def load_chain(path: Path) -> list[x509.Certificate]:
    """The seal certificate (first) and its chain, from a PEM file."""
    try:
        chain = x509.load_pem_x509_certificates(path.read_bytes())
    except ValueError as exc:
        raise click.ClickException(f"{path}: not PEM certificates ({exc})") from None
    return chain


def load_key(path: Path) -> SealKey:
    """The seal's private key (PEM, unencrypted PKCS#8 or traditional)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise click.ClickException(f"{path}: a seal key must be EC P-256 or RSA")
    return key


def _sha256_of(certificate_or_digest: str) -> str:
    """A digest given as such, or the digest of a certificate file."""
    if re.fullmatch(r"[0-9a-f]{64}", certificate_or_digest):
        return certificate_or_digest
    path = Path(certificate_or_digest)
    if not path.is_file():
        raise click.BadParameter("give a certificate file or its SHA-256 (64 hex digits)")
    return certificate_digest(load_chain(path)[0])


@click.group("seal-cert")
def seal_cert() -> None:
    """The issuer's electronic-seal certificate for EDC credentials (register, rotate, revoke)."""


certificate_file = click.argument(
    "certificate", type=click.Path(path_type=Path, dir_okay=False, exists=True)
)


@seal_cert.command("register")
@options.url
@options.key
@options.issuer_id
@certificate_file
@options.reporting_errors
def register(url: str, key_file: Path, issuer_id: str, certificate: Path) -> None:
    """Register CERTIFICATE (PEM, the seal certificate first) as the issuer's seal.

    The register takes the issuer's eIDAS legal identifier from its organizationIdentifier.

    \b
    Example:
      credledger seal-cert register --key issuer-key.json --issuer-id 1f0e... seal.pem
    """
    pem = load_chain(certificate)[0].public_bytes(serialization.Encoding.PEM).decode()
    with options.client(url) as client:
        result = client.register_seal_certificate(
            _signer(key_file, issuer_id).register_seal_certificate(pem)
        )
    click.echo(json.dumps(result, indent=2))


@seal_cert.command("rotate")
@options.url
@options.key
@options.issuer_id
@click.argument("old")
@certificate_file
@options.reporting_errors
def rotate(url: str, key_file: Path, issuer_id: str, old: str, certificate: Path) -> None:
    """Register CERTIFICATE in place of OLD (a certificate file or its SHA-256); seals made
    with OLD before now keep verifying.

    \b
    Example:
      credledger seal-cert rotate --key issuer-key.json --issuer-id 1f0e... old.pem new.pem
    """
    pem = load_chain(certificate)[0].public_bytes(serialization.Encoding.PEM).decode()
    body = _signer(key_file, issuer_id).register_seal_certificate(pem, replaces=_sha256_of(old))
    with options.client(url) as client:
        click.echo(json.dumps(client.register_seal_certificate(body), indent=2))


@seal_cert.command("revoke")
@options.url
@options.key
@options.issuer_id
@click.argument("certificate")
@click.option("--reason", required=True, help="Why (shown in the public register).")
@options.reporting_errors
def revoke(url: str, key_file: Path, issuer_id: str, certificate: str, reason: str) -> None:
    """Revoke CERTIFICATE (a file or its SHA-256): no seal made with it is recorded again.

    \b
    Example:
      credledger seal-cert revoke --key issuer-key.json --issuer-id 1f0e... seal.pem \\
        --reason "key compromised"
    """
    body = _signer(key_file, issuer_id).revoke_seal_certificate(_sha256_of(certificate), reason)
    with options.client(url) as client:
        click.echo(json.dumps(client.revoke_seal_certificate(body), indent=2))


def seal_and_record(
    client: LedgerClient,
    signer: CommandSigner,
    wanted: list[dict[str, Any]],
    chain: list[x509.Certificate],
    key: SealKey,
    out: Path,
    *,
    rsa_pss: bool = False,
) -> tuple[list[Path], list[str]]:
    """Fetch the EDC credentials of ``wanted``, seal each here, record the seals, and write
    ``<credential id>-v<version>.edc.jsonld``: the files written, and what failed."""
    written: list[Path] = []
    failures: list[str] = []
    sealed_items: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for item in client.documents(signer.read_documents(wanted, format="edc")):
        if "credential" not in item:
            failures.append(f"{item['credential_id']}: {item['problem']['detail']}")
            continue
        sealed = seal(item["credential"], chain, key, datetime.now(UTC), rsa_pss=rsa_pss)
        sealed_items.append((item, sealed))
    for start in range(0, len(sealed_items), RECORDS_PER_REQUEST):
        batch = sealed_items[start : start + RECORDS_PER_REQUEST]
        results = client.record_seals([signer.record_seal(sealed) for _, sealed in batch])
        for (item, sealed), result in zip(batch, results, strict=True):
            if not result["ok"]:
                failures.append(f"{item['credential_id']}: {result['problem']['detail']}")
                continue
            path = out / f"{item['credential_id']}-v{item['version']}.edc.jsonld"
            path.write_text(json.dumps(sealed, indent=2, ensure_ascii=False) + "\n", "utf-8")
            written.append(path)
    return written, failures
