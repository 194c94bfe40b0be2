"""``credledger witness``: run an independent witness of a ledger's log."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import click

from anchors.checkpoint import NoteVerifier
from anchors.merkle import VerificationError
from anchors.witness import ForkDetected, Witness, WitnessKey
from ledger.cli import options


@click.group()
def witness() -> None:
    """Witness a ledger's log: cosign its checkpoints, refuse forks."""


@witness.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
def keygen(out: Path) -> None:
    """Create a BLS12-381 witness key; prints the public key and its proof of possession,
    which the ledger's operator adds to CREDLEDGER_WITNESSES.

    \b
    Example:
      credledger witness keygen --out witness-key.json
    """
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    key = WitnessKey.generate()
    key.save(out)
    click.echo(json.dumps({"key": key.public, "proof": key.proof_of_possession()}))


@witness.command()
@options.url
@click.option("--key", "key_file", type=click.Path(path_type=Path, exists=True), required=True)
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where the witness remembers the last checkpoint it cosigned.",
)
@click.option("--log-key", required=True, help="The log's verifier key (GET /log/key).")
@options.reporting_errors
def cosign(url: str, key_file: Path, state_file: Path, log_key: str) -> None:
    """Cosign the ledger's latest checkpoint if it is consistent with the last one cosigned.

    Exit status 2 and the two signed notes as evidence if the log forked.

    \b
    Example:
      credledger witness cosign --url https://ledger.example --key witness-key.json \\
        --state witness-state.json --log-key "credledger.local/1a2b3c4d+...+..."
    """
    verifier = NoteVerifier.parse(log_key)
    origin = verifier.name
    member = Witness(WitnessKey.load(key_file), state_file)
    with options.client(url) as client:
        latest = client._call("GET", "/log/checkpoint")
        proof: list[bytes] = []
        previous = member.last(origin)
        if previous is not None:
            old_size = int(previous.partition("\n")[2].partition("\n")[0])
            if 0 < old_size < latest["size"]:
                answer = client._call(
                    "GET",
                    "/log/proof/consistency",
                    params={"old_size": old_size, "new_size": latest["size"]},
                )
                proof = [base64.b64decode(h) for h in answer["hashes"]]
        try:
            signature = member.cosign(latest["note"], proof, verifier, origin)
        except ForkDetected as fork:
            click.echo(json.dumps({"fork": str(fork), "evidence": list(fork.evidence)}))
            sys.exit(2)
        except VerificationError as exc:
            raise click.ClickException(f"refused: {exc}") from None
        result = client._call(
            "POST",
            "/log/cosignatures",
            json={"size": latest["size"], "witness": member.key.public, "signature": signature},
        )
    click.echo(f"cosigned checkpoint {latest['size']}; {len(result['signers'])} witnesses so far")
