"""Learner wallets, on the issuer's side: the key the ledger signs SD-JWT VCs with for the
issuer (``credledger wallet-key``), and offers to a learner's wallet (``credledger offer``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
import segno

from ledger.cli import options
from ledger.cli.issuer_commands import acting_on, credential_version
from ledger.client import CommandSigner
from ledger.domain.signing import IssuerKey


def _signer(key_file: Path, issuer_id: str) -> CommandSigner:
    return CommandSigner(IssuerKey.load(key_file), issuer_id)


@click.command("wallet-key")
@options.url
@options.key
@options.issuer_id
@options.reporting_errors
def wallet_key(url: str, key_file: Path, issuer_id: str) -> None:
    """Have the ledger adopt a new key for your SD-JWT VCs and status list (rotation: the key
    before is retired; what it signed keeps verifying). Its JWKS is published at
    /.well-known/jwt-vc-issuer/issuers/ISSUER_ID.

    \b
    Example:
      credledger wallet-key --key issuer-key.json --issuer-id 1f0e...
    """
    with options.client(url) as client:
        result = client.adopt_wallet_key(_signer(key_file, issuer_id).adopt_wallet_key())
        keys = client.issuer(issuer_id)["wallet_keys"]
    click.echo(json.dumps({**result, "kid": keys[-1]["kid"]}, indent=2))


@click.command()
@options.url
@options.key
@options.issuer_id
@click.argument("credential_id")
@acting_on
@click.option(
    "--png",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the offer's QR code to this PNG file.",
)
@click.option("--no-qr", is_flag=True, help="Print the offer without the terminal QR code.")
@options.reporting_errors
def offer(
    url: str,
    key_file: Path,
    issuer_id: str,
    credential_id: str,
    version: int | None,
    png: Path | None,
    no_qr: bool,
) -> None:
    """Offer CREDENTIAL_ID to the learner's wallet (OpenID4VCI, pre-authorized code).

    Prints the openid-credential-offer:// URI as a QR code for the wallet to scan, and the PIN
    to give the learner by another channel (never with the QR code). The offer is single-use
    and expires.

    \b
    Example:
      credledger offer --key issuer-key.json --issuer-id 1f0e... 7c9a... --png offer.png
    """
    body = _signer(key_file, issuer_id).offer(
        credential_id, credential_version(url, credential_id, version)
    )
    with options.client(url) as client:
        made = client.offer(body)
    uri = made["credential_offer_uri"]
    code = segno.make(uri, error="m")
    if not no_qr:
        text = io.StringIO()
        code.terminal(out=text, compact=True)
        click.echo(text.getvalue())
    if png is not None:
        code.save(str(png), kind="png", scale=6)
        click.echo(f"QR code written to {png}")
    click.echo(f"Offer URI: {uri}")
    click.echo(f"PIN for the learner (give it separately): {made['tx_code']}")
    click.echo(f"Expires: {made['expires_at']} (single use)")
