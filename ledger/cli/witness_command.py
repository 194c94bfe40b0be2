"""``credledger witness``: run an independent witness of a ledger's log."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import NoteVerifier
from anchors.cosignature import CosignatureSigner
from anchors.merkle import VerificationError
from anchors.witness import ForkDetected, Witness, WitnessKey
from ledger.cli import options


@click.group()
def witness() -> None:
    """Witness a ledger's log: cosign its checkpoints, refuse forks (BLS `cosign`, or a C2SP
    tlog-witness with `serve`)."""


@witness.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option(
    "--ed25519",
    "name",
    metavar="NAME",
    default=None,
    help="Make a C2SP Ed25519 (cosignature/v1) key of this name, for `witness serve`.",
)
def keygen(out: Path, name: str | None) -> None:
    """Create a witness key: BLS12-381 (prints the public key and its proof of possession, which
    the ledger's operator adds to CREDLEDGER_WITNESSES), or with --ed25519 NAME a C2SP witness
    key (prints its cosignature/v1 verifier key, for CREDLEDGER_TLOG_WITNESSES and clients).

    \b
    Examples:
      credledger witness keygen --out witness-key.json
      credledger witness keygen --ed25519 witness.example.org --out witness.key
    """
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    if name is not None:
        try:
            signer = CosignatureSigner(name, Ed25519PrivateKey.generate())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        out.touch(mode=0o600)
        out.write_text(signer.private_key() + "\n")
        click.echo(signer.verifier_key())
        return
    key = WitnessKey.generate()
    key.save(out)
    click.echo(json.dumps({"key": key.public, "proof": key.proof_of_possession()}))


@witness.command()
@click.option("--key", "key_file", type=click.Path(path_type=Path, exists=True), required=True)
@click.option(
    "--log",
    "logs",
    multiple=True,
    required=True,
    metavar="VERIFIER_KEY",
    help="A log to witness, by its checkpoint verifier key (GET /log/key); repeatable.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where the witness keeps the last checkpoint it cosigned of each log.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8380, show_default=True)
def serve(key_file: Path, logs: tuple[str, ...], state_file: Path, host: str, port: int) -> None:
    """Run a C2SP tlog-witness (POST /add-checkpoint) with an Ed25519 key from
    `witness keygen --ed25519`: it checks each checkpoint's log signature and consistency proof,
    persists it atomically, then cosigns (cosignature/v1); a fork is refused and both notes
    kept under evidence/ beside the state file. The log's origin is its key's name.

    \b
    Example:
      credledger witness serve --key witness.key --state witness-state.json \\
        --log "credledger.local/1a2b3c4d+...+..." --port 8380
    """
    import uvicorn

    from anchors.cosigning_witness import CosigningWitness
    from ledger.api.witness_server import create_witness_app

    try:
        signer = CosignatureSigner.from_private_key(key_file.read_text())
        known = {NoteVerifier.parse(vkey).name: vkey for vkey in logs}
    except (ValueError, VerificationError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"witness {signer.verifier_key()} on http://{host}:{port}/add-checkpoint")
    app = create_witness_app(CosigningWitness(signer, known, state_file))
    uvicorn.run(app, host=host, port=port, log_level="warning")


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
