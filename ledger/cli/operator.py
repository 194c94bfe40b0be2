"""Operator commands: admitting and suspending issuers, rotating the anchoring key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ledger.cli import options
from ledger.client import LedgerClient

admin_token = click.option(
    "--admin-token",
    envvar="CREDLEDGER_ADMIN_TOKEN",
    required=True,
    help="The operator's bearer token (secrets.json of the ledger's data directory).",
)


@click.command("register-issuer")
@options.url
@admin_token
@click.option("--legal-name", required=True)
@click.option("--country", required=True, help="EU country URI, e.g. …/country/IRL.")
@click.option("--region")
@click.option("--qa-type", required=True, help="Accreditation type URI (EU code list).")
@click.option("--qa-body", required=True, help="The quality-assurance body.")
@click.option("--qa-reference", required=True, help="Register id or URL of the evidence.")
@click.option("--address", required=True, help="The issuer's Ethereum address (keygen prints it).")
@options.reporting_errors
def register_issuer(
    url: str,
    admin_token: str,
    legal_name: str,
    country: str,
    region: str | None,
    qa_type: str,
    qa_body: str,
    qa_reference: str,
    address: str,
) -> None:
    """Admit an issuer to the register; prints its issuer id.

    \b
    Example:
      credledger register-issuer --legal-name "Example University" \\
        --country http://publications.europa.eu/resource/authority/country/IRL \\
        --qa-type http://data.europa.eu/snb/accreditation/bb4618238e \\
        --qa-body "QQI" --qa-reference https://www.deqar.eu/... --address 0x...
    """
    entry = options.client(url, admin_token).register_issuer(
        {
            "legal_name": legal_name,
            "country": country,
            "region": region,
            "quality_assurance": [{"type": qa_type, "body": qa_body, "reference": qa_reference}],
            "address": address,
        }
    )
    click.echo(entry["issuer_id"])


def _status_command(
    name: str,
    change: Callable[[LedgerClient, str, str], dict[str, Any]],
    summary: str,
    example: str,
) -> click.Command:
    """An operator command that changes an issuer's status through the client's ``change``."""

    @click.command(name, help=f"{summary}\n\n\b\nExample:\n  {example}")
    @options.url
    @admin_token
    @click.argument("issuer_id")
    @click.option("--reason", required=True)
    @options.reporting_errors
    def command(url: str, admin_token: str, issuer_id: str, reason: str) -> None:
        entry = change(options.client(url, admin_token), issuer_id, reason)
        click.echo(f"{entry['issuer_id']} {entry['status']}")

    return command


suspend_issuer = _status_command(
    "suspend-issuer",
    LedgerClient.suspend_issuer,
    "Suspend an issuer: its commands are refused until it is reinstated.",
    'credledger suspend-issuer 1f0e... --reason "accreditation withdrawn by QQI"',
)
reinstate_issuer = _status_command(
    "reinstate-issuer",
    LedgerClient.reinstate_issuer,
    "Reinstate a suspended issuer: its commands are accepted again.",
    'credledger reinstate-issuer 1f0e... --reason "accreditation renewed"',
)


@click.group("anchoring-key")
def anchoring_key() -> None:
    """The ledger's anchoring key (the address issuer profiles list)."""


@anchoring_key.command("rotate")
@options.data_dir
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file holding the new hex private key (default: generate one).",
)
@options.reporting_errors
def rotate_anchoring_key(data_dir: Path, key_file: Path | None) -> None:
    """Retire the anchoring key and adopt a new one; run it with the service stopped.

    Documents anchored before keep verifying: profiles list the old address as revoked from
    now on. Fund the new address before starting the service again.

    \b
    Example:
      credledger anchoring-key rotate --data-dir /var/lib/credledger --key-file new-key.hex
    """
    from ledger.application.anchoring_key_rotation import (
        environment_overrides,
        rotate_anchoring_key,
    )
    from ledger.settings import Settings

    new_key = key_file.read_text("utf-8").strip() if key_file else None
    rotation = rotate_anchoring_key(Settings(data_dir=data_dir), new_key)
    click.echo(f"retired {rotation.retired} and adopted {rotation.adopted} at {rotation.at:%c}")
    click.echo(f"fund {rotation.adopted} before the next batch is anchored")
    if environment_overrides():
        click.echo(
            "CREDLEDGER_CHAIN_PRIVATE_KEY is set and overrides secrets.json: set it to the new key",
            err=True,
        )
