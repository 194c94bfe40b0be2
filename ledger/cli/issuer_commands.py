"""Issuer commands, each signed locally with the issuer's key and sent to the ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ledger.cli import options
from ledger.cli.seal_commands import load_chain, load_key, seal_and_record
from ledger.client import CommandSigner
from ledger.domain.signing import IssuerKey


def _signer(key_file: Path, issuer_id: str) -> CommandSigner:
    return CommandSigner(IssuerKey.load(key_file), issuer_id)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or "content" not in data or "learner" not in data:
        raise click.ClickException(f'{path}: expected {{"content": {{...}}, "learner": {{...}}}}')
    return data


def credential_version(url: str, credential_id: str, given: int | None) -> int:
    """The version a command acts on: the one given, or the credential's current version.

    The signature binds the command to this version, so a concurrent amendment makes the
    ledger refuse it (409) instead of applying it to a version the issuer has not seen.
    """
    if given is not None:
        return given
    with options.client(url) as client:
        return int(client.status(credential_id)["current_version"])


acting_on = click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    default=None,
    help="The version to act on (default: the credential's current version, as the ledger "
    "reports it now).",
)


def _print(result: dict[str, Any]) -> None:
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the new key (owner-only permissions).",
)
def keygen(out: Path) -> None:
    """Create an issuer key; prints the address to register.

    \b
    Example:
      credledger keygen --out issuer-key.json
    """
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    key = IssuerKey.generate()
    key.save(out)
    click.echo(key.address)


@click.command()
@options.url
@options.key
@options.issuer_id
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@options.reporting_errors
def issue(url: str, key_file: Path, issuer_id: str, file: Path) -> None:
    """Issue one credential from FILE: {"content": {...}, "learner": {...}}.

    The learner's data is committed to (salted SHA-256) before signing; only the commitment
    enters the ledger's history. Give "command_id" in FILE to make retries safe.

    \b
    Example:
      credledger issue --key issuer-key.json --issuer-id 1f0e... credential.json
    """
    data = _read_json(file)
    body = _signer(key_file, issuer_id).issue(
        data["content"], data["learner"], command_id=data.get("command_id")
    )
    with options.client(url) as client:
        _print(client.issue(body))


@click.command()
@options.url
@options.key
@options.issuer_id
@click.argument("credential_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@acting_on
@options.reporting_errors
def amend(
    url: str, key_file: Path, issuer_id: str, credential_id: str, file: Path, version: int | None
) -> None:
    """Publish a new version of CREDENTIAL_ID from FILE (same shape as for issue).

    \b
    Example:
      credledger amend --key issuer-key.json --issuer-id 1f0e... 7c9a... corrected.json
    """
    data = _read_json(file)
    body = _signer(key_file, issuer_id).amend(
        credential_id,
        credential_version(url, credential_id, version),
        data["content"],
        learner=data["learner"],
        command_id=data.get("command_id"),
    )
    with options.client(url) as client:
        _print(client.amend(body))


@click.command()
@options.url
@options.key
@options.issuer_id
@click.argument("credential_id")
@click.option("--reason", required=True, help="Why; shown to verifiers.")
@acting_on
@options.reporting_errors
def revoke(
    url: str, key_file: Path, issuer_id: str, credential_id: str, reason: str, version: int | None
) -> None:
    """Revoke CREDENTIAL_ID (final).

    \b
    Example:
      credledger revoke --key issuer-key.json --issuer-id 1f0e... 7c9a... --reason "issued in error"
    """
    body = _signer(key_file, issuer_id).revoke(
        credential_id, credential_version(url, credential_id, version), reason
    )
    with options.client(url) as client:
        _print(client.revoke(body))


@click.command()
@options.url
@options.key
@options.issuer_id
@click.argument("credential_id")
@click.confirmation_option(prompt="Erase this learner's personal data for good?")
@acting_on
@options.reporting_errors
def erase(
    url: str, key_file: Path, issuer_id: str, credential_id: str, version: int | None
) -> None:
    """Erase the personal data of the learner of CREDENTIAL_ID (all their credentials here).

    Statuses, history and proofs keep working; nobody can read the learner's data again.

    \b
    Example:
      credledger erase --key issuer-key.json --issuer-id 1f0e... 7c9a...
    """
    body = _signer(key_file, issuer_id).erase(
        credential_id, credential_version(url, credential_id, version)
    )
    with options.client(url) as client:
        _print(client.erase(body))


@click.command("rotate-key")
@options.url
@options.key
@options.issuer_id
@click.option(
    "--new-key",
    "new_key_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The new key file (from keygen); it signs too, to prove you hold it.",
)
@options.reporting_errors
def rotate_key(url: str, key_file: Path, issuer_id: str, new_key_file: Path) -> None:
    """Move the issuer to a new key; commands signed with the old one are refused after.

    \b
    Example:
      credledger keygen --out new-key.json
      credledger rotate-key --key issuer-key.json --issuer-id 1f0e... --new-key new-key.json
    """
    new_key = IssuerKey.load(new_key_file)
    with options.client(url) as client:
        _print(client.rotate_key(_signer(key_file, issuer_id).rotate_key(new_key)))


@click.command()
@options.url
@click.argument("credential_id")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON answer.")
@options.reporting_errors
def status(url: str, credential_id: str, as_json: bool) -> None:
    """Show a credential's public status and version history.

    \b
    Example:
      credledger status 7c9a...
    """
    with options.client(url) as client:
        found = client.status(credential_id)
    if as_json:
        _print(found)
        return
    click.echo(f"{found['credential_id']}  {found['title']}")
    click.echo(f"  status: {found['status']}  (version {found['current_version']})")
    if found["revocation"]:
        revocation = found["revocation"]
        click.echo(f"  revoked at {revocation['at']}: {revocation['reason']}")
    for version in found["versions"]:
        note = f" by version {version['superseded_by']}" if version["superseded_by"] else ""
        click.echo(
            f"  v{version['version']}: {version['status']}{note}, {version['event']} "
            f"at {version['recorded_at']} (log position {version['log_position']})"
        )
        anchor = version.get("anchor") or {}
        if anchor.get("state") == "anchored":
            click.echo(
                f"      anchored: transaction {anchor['tx_hash']} in block "
                f"{anchor['block_number']} of chain {anchor['chain_id']}"
            )
        else:
            click.echo("      anchoring pending (in the log's next batch)")


@click.command()
@options.url
@options.key
@options.issuer_id
@click.argument("credential_ids", nargs=-1)
@click.option(
    "--from-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A file of credential ids, one per line (with CREDENTIAL_IDS or instead of them).",
)
@click.option("--version", type=int, help="A version other than the current one.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory to write <credential id>-v<version>.json (.edc.jsonld) documents into.",
)
@click.option(
    "--format",
    "document_format",
    type=click.Choice(["blockcerts", "edc"]),
    default="blockcerts",
    show_default=True,
    help="Blockcerts documents, or Europass EDC credentials sealed here and recorded.",
)
@click.option(
    "--seal-cert",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="With --format edc: the seal certificate (PEM, with its chain).",
)
@click.option(
    "--seal-key",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="With --format edc: the seal's private key (PEM); it never leaves this machine.",
)
@click.option("--rsa-pss", is_flag=True, help="With an RSA seal key: PS256 instead of RS256.")
@options.reporting_errors
def documents(
    url: str,
    key_file: Path,
    issuer_id: str,
    credential_ids: tuple[str, ...],
    from_file: Path | None,
    version: int | None,
    out: Path,
    document_format: str,
    seal_cert: Path | None,
    seal_key: Path | None,
    rsa_pss: bool,
) -> None:
    """Fetch learners' documents (yours only), ready to hand to each learner.

    Blockcerts documents verify with the Blockcerts verifier once their batch is anchored.
    With --format edc, each credential version comes as a Europass EDC credential (ELM v3),
    is sealed here with JAdES (baseline B), and its seal is recorded in the ledger (so it is in
    the log and the next anchor); the seal key stays here. Up to 1,000 ids per request; more
    are fetched in several.

    \b
    Examples:
      credledger documents --key issuer-key.json --issuer-id 1f0e... 9a7c... --out docs/
      credledger documents --key issuer-key.json --issuer-id 1f0e... --from-file ids.txt --out docs/
      credledger documents --key issuer-key.json --issuer-id 1f0e... 9a7c... --out docs/ \\
        --format edc --seal-cert seal.pem --seal-key seal-key.pem
    """
    ids = list(credential_ids)
    if from_file is not None:
        ids += [line.strip() for line in from_file.read_text("utf-8").splitlines() if line.strip()]
    if not ids:
        raise click.UsageError("name at least one credential id (or --from-file)")
    out.mkdir(parents=True, exist_ok=True)
    signer = _signer(key_file, issuer_id)
    if document_format == "edc":
        _edc_documents(url, signer, ids, version, out, seal_cert, seal_key, rsa_pss)
        return
    missing = 0
    with options.client(url) as client:
        for start in range(0, len(ids), 1000):
            wanted: list[dict[str, Any]] = [
                {"credential_id": cid, **({"version": version} if version else {})}
                for cid in ids[start : start + 1000]
            ]
            for item in client.documents(signer.read_documents(wanted)):
                if "document" in item:
                    path = out / f"{item['credential_id']}-v{item['version']}.json"
                    path.write_text(
                        json.dumps(item["document"], indent=2, ensure_ascii=False) + "\n", "utf-8"
                    )
                    click.echo(f"{path}")
                else:
                    missing += 1
                    click.echo(f"{item['credential_id']}: {item['problem']['detail']}", err=True)
    if missing:
        raise click.ClickException(f"{missing} of {len(ids)} documents could not be fetched")


def _edc_documents(
    url: str,
    signer: CommandSigner,
    ids: list[str],
    version: int | None,
    out: Path,
    seal_cert: Path | None,
    seal_key: Path | None,
    rsa_pss: bool,
) -> None:
    if seal_cert is None or seal_key is None:
        raise click.UsageError("--format edc needs --seal-cert and --seal-key")
    chain, key = load_chain(seal_cert), load_key(seal_key)
    failures: list[str] = []
    with options.client(url) as client:
        for start in range(0, len(ids), 1000):
            wanted: list[dict[str, Any]] = [
                {"credential_id": cid, **({"version": version} if version else {})}
                for cid in ids[start : start + 1000]
            ]
            written, failed = seal_and_record(
                client, signer, wanted, chain, key, out, rsa_pss=rsa_pss
            )
            failures += failed
            for path in written:
                click.echo(f"{path}")
    for failure in failures:
        click.echo(failure, err=True)
    if failures:
        raise click.ClickException(f"{len(failures)} of {len(ids)} EDC credentials failed")
