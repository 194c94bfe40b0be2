"""The ``credledger`` command group and the options every subcommand shares."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import click

from ledger.cli import options
from ledger.operations import heap

# Each command's module, loaded only when that command runs (or help lists it): ``status`` or
# ``issue`` then start in ~0.6 s instead of ~3.8 s, as they load neither the chain client,
# the API nor the auditor that other commands need.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("server", "init"),
    "serve": ("server", "serve"),
    "consume": ("server", "consume"),
    "demo": ("demo", "demo"),
    "register-issuer": ("operator", "register_issuer"),
    "suspend-issuer": ("operator", "suspend_issuer"),
    "reinstate-issuer": ("operator", "reinstate_issuer"),
    "anchoring-key": ("operator", "anchoring_key"),
    "rebuild-read-model": ("rebuild_command", "rebuild_read_model"),
    "keygen": ("issuer_commands", "keygen"),
    "issue": ("issuer_commands", "issue"),
    "bulk-issue": ("bulk", "bulk_issue"),
    "amend": ("issuer_commands", "amend"),
    "revoke": ("issuer_commands", "revoke"),
    "erase": ("issuer_commands", "erase"),
    "rotate-key": ("issuer_commands", "rotate_key"),
    "documents": ("issuer_commands", "documents"),
    "seal-cert": ("seal_commands", "seal_cert"),
    "wallet-key": ("wallet_commands", "wallet_key"),
    "offer": ("wallet_commands", "offer"),
    "status": ("issuer_commands", "status"),
    "proof": ("verify_command", "proof"),
    "verify": ("verify_command", "verify"),
    "audit": ("audit_command", "audit"),
    "witness": ("witness_command", "witness"),
    "tiles": ("tiles_command", "tiles"),
    "stack": ("stack_commands", "stack"),
}


def _module_of(name: str) -> ModuleType:
    """The module that defines the command ``name`` (one of :data:`COMMANDS`), imported."""
    return importlib.import_module(f"ledger.cli.{COMMANDS[name][0]}")


class _CommandsOnDemand(click.Group):
    """The command group, importing a command's module when the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command = getattr(_module_of(cmd_name), COMMANDS[cmd_name][1])
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_CommandsOnDemand,
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


def main() -> None:
    """Entry point of the ``credledger`` console script."""
    # What the command imports is never garbage (an audit runs for minutes): its module is
    # loaded before the heap is settled, so that the collector skips it too.
    named = next((arg for arg in sys.argv[1:] if arg in COMMANDS), None)
    if named is not None:
        _module_of(named)
    heap.settle()
    sys.exit(cli.main(prog_name="credledger", standalone_mode=True))


__all__ = ["COMMANDS", "Path", "cli", "main"]
