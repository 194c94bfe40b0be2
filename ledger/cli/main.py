"""The ``credledger`` command group and the options every subcommand shares."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ledger.cli import (
    audit_command,
    bulk,
    demo,
    issuer_commands,
    operator,
    options,
    rebuild_command,
    seal_commands,
    server,
    stack_commands,
    tiles_command,
    verify_command,
    wallet_commands,
    witness_command,
)
from ledger.operations import heap


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Every option can also be set by environment variable; see the README.",
)
@click.version_option(package_name="credledger")
@options.ca_file
def cli() -> None:
    """credledger: an event-sourced ledger for EU micro-credentials.

    \b
    Operator:  init, serve, consume, demo, register-issuer, suspend-issuer, reinstate-issuer,
               anchoring-key, rebuild-read-model
    Issuer:    keygen, issue, bulk-issue, amend, revoke, erase, rotate-key, documents, seal-cert,
               wallet-key, offer
    Anyone:    status, proof, verify, stack check, stack list
    Stacking:  stack publish, stack recognise (the recognising institution)
    Auditors:  audit, witness
    Mirrors:   tiles export
    """


for command in (
    server.init,
    server.serve,
    server.consume,
    demo.demo,
    operator.register_issuer,
    operator.suspend_issuer,
    operator.reinstate_issuer,
    operator.anchoring_key,
    rebuild_command.rebuild_read_model,
    issuer_commands.keygen,
    issuer_commands.issue,
    bulk.bulk_issue,
    issuer_commands.amend,
    issuer_commands.revoke,
    issuer_commands.erase,
    issuer_commands.rotate_key,
    issuer_commands.documents,
    seal_commands.seal_cert,
    wallet_commands.wallet_key,
    wallet_commands.offer,
    issuer_commands.status,
    verify_command.proof,
    verify_command.verify,
    audit_command.audit,
    witness_command.witness,
    tiles_command.tiles,
    stack_commands.stack,
):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``credledger`` console script."""
    heap.settle()  # what every command imported is never garbage; an audit runs for minutes
    sys.exit(cli.main(prog_name="credledger", standalone_mode=True))


__all__ = ["Path", "cli", "main"]
