"""Stacking: ``credledger stack`` publishes pathways, checks a learner's credentials against one
(nothing written) and records a recognition decision."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from ledger.cli import options
from ledger.client import CommandSigner
from ledger.domain.signing import IssuerKey

NOT_MET = 4
_BAR = 24

_documents = click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
)
_pathway = click.option("--pathway", "pathway_id", required=True, help="The pathway's id.")


def _signer(key_file: Path, issuer_id: str) -> CommandSigner:
    return CommandSigner(IssuerKey.load(key_file), issuer_id)


def _read(files: tuple[Path, ...]) -> list[dict[str, Any]]:
    documents = []
    for path in files:
        try:
            document = json.loads(path.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{path}: not a JSON document ({exc})") from None
        if not isinstance(document, dict):
            raise click.ClickException(f"{path}: not a credential document")
        documents.append(document)
    return documents


@click.group()
def stack() -> None:
    """Pathways and recognition: micro-credentials from several issuers counted together.

    \b
    Anyone:      stack list, stack check
    Institution: stack publish, stack recognise
    """


@stack.command("list")
@options.url
@options.reporting_errors
def list_pathways(url: str) -> None:
    """The published pathways, at their current versions: id, version, title.

    \b
    Example:
      credledger stack list --url https://ledger.example
    """
    with options.client(url) as client:
        for found in client.pathways():
            click.echo(f"{found['pathway_id']}  v{found['current_version']}  {found['title']}")


@stack.command()
@options.url
@_pathway
@click.option("--version", type=int, help="The pathway version; default: the current one.")
@click.option("--json", "as_json", is_flag=True, help="Print the ledger's whole answer as JSON.")
@_documents
@options.reporting_errors
def check(
    url: str, pathway_id: str, version: int | None, as_json: bool, files: tuple[Path, ...]
) -> None:
    """Check credential documents (Blockcerts JSON, as the learner holds them) against a
    pathway: each verified, one learner, every rule with its numbers. Nothing is recorded.
    Exit status 0 if the pathway is met, 4 if it is not.

    \b
    Example:
      credledger stack check --pathway 3f2a... ml.json cloud.json statistics.json
    """
    with options.client(url) as client:
        answer = client.evaluate(pathway_id, _read(files), version)
        target = client.pathway(pathway_id)["versions"][answer["pathway_version"] - 1]
    if as_json:
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        _print(answer, target, files)
    if not answer["met"]:
        sys.exit(NOT_MET)


def _print(answer: dict[str, Any], version: dict[str, Any], files: tuple[Path, ...]) -> None:
    met = answer["met"]
    click.secho(
        f"{answer['target']['title']} (pathway version {answer['pathway_version']}): "
        f"{'MET' if met else 'NOT MET'}",
        bold=True,
        fg="green" if met else "red",
    )
    click.echo("\nComponents")
    for component, path in zip(answer["components"], files, strict=True):
        title = component["title"] or path.name
        provider = component["provider"] or "unknown issuer"
        if component["counts"]:
            points = ", ".join(f"{c['points']} {c['name']}" for c in component["contributes"])
            click.echo(f"  ✓ {title} ({provider}): {points or 'no credit points'}")
        else:
            click.echo(f"  ✗ {title} ({provider}): counts for nothing")
            for reason in component["reasons"]:
                click.echo(f"      {reason}")
    click.echo("\nCredit points")
    required = {r["framework"]: Decimal(r["minimum"]) for r in version["rules"]["credits"]}
    totals = {t["framework"]: t for t in answer["totals"]}
    for framework, minimum in required.items():
        total = totals.get(framework)
        counted = Decimal(total["points"]) if total else Decimal(0)
        name = total["name"] if total else framework.rsplit("/", 1)[-1]
        filled = min(_BAR, int(_BAR * counted / minimum)) if minimum else _BAR
        bar = "#" * filled + "-" * (_BAR - filled)
        click.echo(f"  [{bar}] {counted.normalize():f} of {minimum.normalize():f} {name}")
    click.echo("\nRules")
    for rule in answer["rules"]:
        click.echo(f"  {'✓' if rule['met'] else '✗'} {rule['text']}")
    if answer["missing"]:
        click.echo("\nMissing")
        for missing in answer["missing"]:
            click.echo(f"  - {missing}")


@stack.command()
@options.url
@options.key
@options.issuer_id
@click.argument("pathway_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@options.reporting_errors
def publish(url: str, key_file: Path, issuer_id: str, pathway_file: Path) -> None:
    """Publish a pathway from a JSON file {"target": {...}, "rules": {...}} (see the README).

    \b
    Example:
      credledger stack publish --key institution-key.json --issuer-id 1f0e... pathway.json
    """
    spec = json.loads(pathway_file.read_text("utf-8"))
    body = _signer(key_file, issuer_id).publish_pathway(spec["target"], spec["rules"])
    with options.client(url) as client:
        click.echo(json.dumps(client.publish_pathway(body), indent=2))


@stack.command()
@options.url
@options.key
@options.issuer_id
@_pathway
@click.option("--version", type=int, help="The pathway version; default: the current one.")
@_documents
@options.reporting_errors
def recognise(
    url: str,
    key_file: Path,
    issuer_id: str,
    pathway_id: str,
    version: int | None,
    files: tuple[Path, ...],
) -> None:
    """Record your institution's decision that the credentials of these documents meet your
    pathway: the ledger verifies each again and refuses the decision if any fails.

    \b
    Example:
      credledger stack recognise --key institution-key.json --issuer-id 1f0e... \\
        --pathway 3f2a... ml.json cloud.json statistics.json
    """
    with options.client(url) as client:
        wanted = version or int(client.pathway(pathway_id)["current_version"])
        body = _signer(key_file, issuer_id).recognise(pathway_id, wanted, _read(files))
        answer = client.recognise(body)
    click.echo(json.dumps({k: v for k, v in answer.items() if k != "evaluation"}, indent=2))
