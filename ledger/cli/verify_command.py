"""``credledger proof`` and ``credledger verify``: save a proof bundle, check it anywhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from anchors.ethereum import Web3Chain
from ledger.cli import options
from ledger.client import LedgerClient, LedgerRequestError
from ledger.read_model import version_status
from ledger.verify import Report, verify_bundle

EXIT_CODES = {"valid": 0, "status-unknown": 3}
_MARKS = {True: ("PASS", "green"), False: ("FAIL", "red"), None: ("----", "yellow")}


@click.command()
@options.url
@click.argument("credential_id")
@click.option("--version", type=int, help="A version number; default: the current one.")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here, not stdout."
)
@options.reporting_errors
def proof(url: str, credential_id: str, version: int | None, out: Path | None) -> None:
    """Fetch the self-contained proof bundle of a credential.

    \b
    Example:
      credledger proof 7c9a... --out credential-proof.json
    """
    bundle = json.dumps(LedgerClient(url).proof(credential_id, version), indent=2)
    if out is None:
        click.echo(bundle)
    else:
        out.write_text(bundle + "\n", encoding="utf-8")


def _status_from(url: str) -> Any:
    client = LedgerClient(url, timeout=10)

    def current(credential_id: str, position: int) -> dict[str, Any] | None:
        try:
            return version_status(client.status(credential_id), position)
        except LedgerRequestError:
            return None

    return current


def _print(report: Report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    for step in report.steps:
        mark, colour = _MARKS[step.passed]
        click.echo(f"{click.style(mark, fg=colour, bold=True)}  {step.name:20} {step.detail}")
    colour = "green" if report.verdict == "valid" else "red"
    click.echo(click.style(f"verdict: {report.verdict}", fg=colour, bold=True))


@click.command()
@click.argument("bundle_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--rpc", envvar="CREDLEDGER_VERIFY_RPC", help="A JSON-RPC URL of the chain.")
@click.option(
    "--log-key", help="The ledger's log verifier key to pin (else the bundle's own is used)."
)
@click.option(
    "--ledger-url",
    help="Ask this ledger for the current status (else the status is not checked).",
)
@click.option("--confirmations", default=1, show_default=True, type=click.IntRange(1))
@click.option("--witness", "witness_keys", multiple=True, help="A trusted witness key (repeat).")
@click.option("--quorum", default=0, show_default=True, help="Cosignatures required.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify(
    bundle_file: Path,
    rpc: str | None,
    log_key: str | None,
    ledger_url: str | None,
    confirmations: int,
    witness_keys: tuple[str, ...],
    quorum: int,
    as_json: bool,
) -> None:
    """Check a saved proof bundle without trusting the ledger.

    Every step is recomputed: the envelope, the issuer's signature and register entry, log
    inclusion, the checkpoint signature, the anchor path and, with --rpc, the transaction on
    chain. Exit status: 0 valid; 3 authentic but the current status was not checked (give
    --ledger-url); 1 anything else.

    \b
    Example:
      credledger verify credential-proof.json --rpc http://127.0.0.1:8545 \\
        --log-key "credledger.local/1a2b3c4d+...+..."
    """
    try:
        bundle = json.loads(bundle_file.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        bundle = {"unreadable": str(exc)}
    chain = Web3Chain.connect(rpc) if rpc else None
    report = verify_bundle(
        bundle,
        chain,
        trusted_log_key=log_key,
        confirmations=confirmations,
        current_status=_status_from(ledger_url) if ledger_url else None,
        witnesses=frozenset(witness_keys),
        quorum=quorum,
    )
    _print(report, as_json)
    sys.exit(EXIT_CODES.get(report.verdict, 1))
