"""``credledger audit``: re-derive the whole history of a ledger's stores and check it."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click
from tqdm import tqdm

from anchors.checkpoint import NoteSigner
from anchors.ethereum import Web3Chain
from ledger.audit import Auditor, AuditReport, check_against_state, save_state
from ledger.cli import options
from ledger.settings import Settings
from ledger.sqlite import SQLiteReadModel
from ledger.storage import Storage, open_storage


def _digests(storage: Storage) -> tuple[str, str]:
    """(live, replayed) read-model digests, both at the live model's position."""
    from consumers.follower import NotificationFollower
    from consumers.projector import ReadModelProjector

    live, position = storage.read_model.digest()
    with tempfile.TemporaryDirectory() as scratch:
        replayed = SQLiteReadModel(Path(scratch) / "read-model.sqlite")
        follower = NotificationFollower(storage.ledger, batch_size=1000, until=position)
        ReadModelProjector(follower, replayed).catch_up()
        return live, replayed.digest()[0]


def _summary(report: AuditReport) -> None:
    click.echo(
        f"audited {report.entries} log entries, {report.checkpoints} checkpoints, "
        f"{report.anchors} anchors"
    )
    if report.finding is None:
        click.echo(click.style("clean: no discrepancy found", fg="green", bold=True))
        return
    finding = report.finding
    where = ", ".join(
        part
        for part in (
            f"log index {finding.index}" if finding.index is not None else "",
            f"event position {finding.position}" if finding.position is not None else "",
        )
        if part
    )
    click.echo(click.style(f"DISCREPANCY ({finding.check}) at {where or 'the end'}:", fg="red"))
    click.echo(f"  {finding.detail}")


@click.command()
@options.data_dir
@click.option("--rpc", help="A JSON-RPC URL of the chain, to check every anchor on it.")
@click.option("--log-key", help="The log's verifier key to pin (default: the ledger's own).")
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Keep the last audited checkpoint here; the next audit checks the log extends it.",
)
@click.option("--confirmations", default=1, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="A JSON report instead of a summary.")
def audit(
    data_dir: Path,
    rpc: str | None,
    log_key: str | None,
    state_file: Path | None,
    confirmations: int,
    as_json: bool,
) -> None:
    """Audit a ledger's stores: every event, signature, checkpoint, anchor and the read model.

    Exit status 0 when clean, 1 at the first discrepancy (its log index and event position
    are named).

    \b
    Example:
      credledger audit --data-dir credledger-data --rpc http://127.0.0.1:8545 \\
        --state audit-state.json
    """
    settings = Settings(data_dir=data_dir)
    storage = open_storage(settings)
    verifier_key = (
        log_key
        or NoteSigner.from_seed(settings.log_origin_value(), settings.log_key_seed()).verifier_key()
    )
    try:
        from consumers.envelope import StoredEnvelopes

        with tqdm(total=storage.log.size(), unit="entry", desc="auditing", file=sys.stderr) as bar:
            auditor = Auditor(
                StoredEnvelopes(storage.ledger),
                storage.log,
                storage.anchors,
                verifier_key,
                Web3Chain.connect(rpc) if rpc else None,
                confirmations=confirmations,
                read_model_digests=lambda: _digests(storage),
                progress=lambda done, total: bar.update(done - bar.n),
            )
            report = auditor.run()
        if report.finding is None and state_file is not None:
            report.finding = check_against_state(state_file, storage.log, verifier_key)
            latest = storage.log.store.latest_checkpoint()
            if report.finding is None and latest is not None:
                save_state(state_file, latest[1])
    finally:
        storage.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _summary(report)
    sys.exit(0 if report.clean else 1)
