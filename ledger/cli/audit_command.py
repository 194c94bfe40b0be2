"""``credledger audit``: re-derive the whole history of a ledger's stores and check it."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from tqdm import tqdm

from anchors.chain import Chain
from anchors.checkpoint import NoteSigner
from anchors.cosignature import cosigned_note, is_cosignature_key
from anchors.ethereum import Web3Chain
from anchors.sqlite import read_through_map
from ledger.application.storage import open_log, open_storage
from ledger.audit.auditor import Auditor, check_witnesses
from ledger.audit.helper import helper_for
from ledger.audit.metrics_file import write_audit_metrics
from ledger.audit.remote_sources import NoAnchors, RemoteAnchors, RemoteHistory, TileHistory
from ledger.audit.report import AuditReport, Finding
from ledger.audit.resume import Resume
from ledger.audit.sources import Anchors, History, LocalHistory, StoredEntry
from ledger.cli import options
from ledger.settings import Settings
from ledger.verify.bundle import witnessed

if TYPE_CHECKING:
    from consumers.audit_replay import Target


def _summary(report: AuditReport) -> None:
    click.echo(
        f"audited {report.entries} log entries, {report.checkpoints} checkpoints, "
        f"{report.anchors} anchors"
    )
    if report.finding is None and report.unconfirmed:
        click.echo(click.style("could not be confirmed: no discrepancy found, but", fg="yellow"))
        for reason in report.unconfirmed:
            click.echo(f"  {reason}")
        return
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
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Audit the stores in this data directory (the event store included).",
)
@click.option("--url", help="Or audit a running ledger through its public API.")
@click.option(
    "--tiles",
    "tiles_url",
    help="Read the log's entries and checkpoint from a tile mirror (C2SP tlog-tiles prefix); "
    "with --url, the anchors and the other checkpoints from the API (the read model is "
    "compared when the log comes from the API alone).",
)
@click.option(
    "--rpc", type=options.RpcUrl(), help="A JSON-RPC URL of the chain, to check every anchor on it."
)
@click.option("--log-key", help="The log's verifier key to pin (default: the ledger's own).")
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Incremental: resume from the checkpoint the last audit reached, kept here.",
)
@options.confirmations
@click.option(
    "--witness",
    "witness_keys",
    multiple=True,
    help="A trusted witness key, BLS hex or a C2SP cosignature/v1 verifier key (repeat).",
)
@click.option("--quorum", default=0, show_default=True, help="Cosignatures the latest needs.")
@click.option("--json", "as_json", is_flag=True, help="A JSON report instead of a summary.")
@click.option(
    "--metrics-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also record the outcome for Prometheus' textfile collector (a *.prom file).",
)
def audit(
    data_dir: Path | None,
    url: str | None,
    tiles_url: str | None,
    rpc: str | None,
    log_key: str | None,
    state_file: Path | None,
    confirmations: int,
    witness_keys: tuple[str, ...],
    quorum: int,
    as_json: bool,
    metrics_file: Path | None,
) -> None:
    """Audit a ledger: every event, signature, checkpoint, anchor and the read model.

    With --data-dir the stores are read directly and the log is also checked against the
    event store; with --url only what the API publishes is used. Exit status 0 when clean,
    1 at the first discrepancy (its log index and event position are named), 3 when nothing
    was found but a check could not run (the chain unreachable): could not be confirmed.

    \b
    Examples:
      credledger audit --data-dir credledger-data --rpc http://127.0.0.1:8545
      credledger audit --url https://ledger.example --rpc https://sepolia.example \\
        --log-key "<from GET /log/key>" --state audit-state.json
      credledger audit --tiles https://cdn.example/tlog --url https://ledger.example
      credledger audit --tiles https://cdn.example/tlog --log-key "<the log's key>"
      credledger audit --data-dir credledger-data \
        --metrics-file /var/lib/node_exporter/textfile/credledger_audit.prom
    """
    started = time.monotonic()
    # The audit reads what the ledger stopped writing (or writes apart): through a map.
    read_through_map()
    if (data_dir is None) == (url is None and tiles_url is None):
        raise click.UsageError("give either --data-dir, or --url and/or --tiles")
    if url is None and tiles_url is not None and log_key is None:
        raise click.UsageError("a tile mirror alone is audited against a pinned --log-key")
    chain = Web3Chain.connect(rpc) if rpc else None
    resume = Resume.load(state_file) if state_file is not None else None
    keep = state_file.with_suffix(".read-model.sqlite") if state_file is not None else None
    opened = contextlib.ExitStack()
    if url is None and tiles_url is not None:
        history = TileHistory(options.tile_mirror(tiles_url))
        report, auditor = _audited(
            history,
            NoAnchors(),
            None,
            None,
            log_key,
            chain,
            confirmations,
            resumable=state_file is not None,
        )

        def cosigned(size: int) -> dict[str, Any]:
            return {}

        def c2sp_cosigned(size: int) -> str:
            return history.note if size == history.size() else ""
    elif url is not None:
        report, auditor = _remote(url, tiles_url, log_key, chain, confirmations, resume, keep)
        client = options.client(url)

        def cosigned(size: int) -> dict[str, Any]:
            page = client._call("GET", "/log/checkpoints", params={"after_size": size - 1})
            found: dict[str, Any] = page["items"][0]["cosignatures"]
            return found

        def c2sp_cosigned(size: int) -> str:
            page = client._call("GET", "/log/checkpoints", params={"after_size": size - 1})
            return str(page["items"][0].get("cosigned_note") or "")
    else:
        assert data_dir is not None
        report, auditor = _local(data_dir, log_key, chain, confirmations, resume, keep)
        # Only the log is read for the witnesses, opened once for every checkpoint looked at.
        log = open_log(Settings(data_dir=data_dir))
        opened.callback(log.store.close)

        def cosigned(size: int) -> dict[str, Any]:
            return witnessed(log, size, frozenset(witness_keys))

        def c2sp_cosigned(size: int) -> str:
            c2sp = [k for k in witness_keys if is_cosignature_key(k)]
            note = auditor.checkpoints_seen[size]
            return cosigned_note(note, log.store.cosignatures(size), c2sp)

    latest = max(auditor.checkpoints_seen.items(), default=None)
    if report.finding is None and quorum > 0:
        if latest is None:
            report.finding = Finding("witnesses", None, None, "no checkpoint to cosign yet")
        else:
            report.finding = check_witnesses(
                latest[1],
                cosigned(latest[0]),
                frozenset(witness_keys),
                quorum,
                _latest_c2sp_cosigned(auditor.checkpoints_seen, c2sp_cosigned, witness_keys),
            )
    opened.close()
    if report.finding is None and state_file is not None and auditor.resume_point is not None:
        auditor.resume_point.save(state_file)
    if metrics_file is not None:
        write_audit_metrics(metrics_file, report, time.monotonic() - started)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _summary(report)
    sys.exit(0 if report.confirmed else 3 if report.clean else 1)


def _latest_c2sp_cosigned(
    seen: dict[int, str], cosigned: Callable[[int], str], witness_keys: tuple[str, ...]
) -> str | None:
    """The newest audited checkpoint carrying cosignature/v1 lines (witnesses cosign at their
    own cadence, so not every checkpoint), looking back over the last 50."""
    if not any(is_cosignature_key(k) for k in witness_keys):
        return None
    for size in sorted(seen, reverse=True)[:50]:
        note = cosigned(size)
        if note.count("\n\u2014 ") > seen[size].count("\n\u2014 "):
            return note
    return None


def _progress(total: int) -> tqdm[Any]:
    return tqdm(total=total, unit="entry", desc="auditing", file=sys.stderr)


def _local(
    data_dir: Path,
    log_key: str | None,
    chain: Chain | None,
    confirmations: int,
    resume: Resume | None,
    keep: Path | None,
) -> tuple[AuditReport, Auditor]:
    from consumers.audit_replay import LiveDigest, target_for
    from consumers.envelope import StoredEnvelopes

    settings = Settings(data_dir=data_dir)
    storage = open_storage(settings)
    key = (
        log_key
        or NoteSigner.from_seed(settings.log_origin_value(), settings.log_key_seed()).verifier_key()
    )
    target: Target | None = None
    try:
        stored = StoredEnvelopes(
            storage.ledger,
            start_index=resume.size if resume else 0,
            after_position=resume.position if resume else 0,
        )
        history = LocalHistory(storage.log)
        entries = history.size() - (resume.size if resume else 0)
        target = target_for(settings, storage.read_model, entries)
        return _audited(
            history,
            storage.anchors,
            target,
            keep,
            key,
            chain,
            confirmations,
            resume,
            stored.decoded,
        )
    finally:
        if isinstance(target, LiveDigest):
            target.close()
        storage.close()


def _remote(
    url: str,
    tiles_url: str | None,
    log_key: str | None,
    chain: Chain | None,
    confirmations: int,
    resume: Resume | None,
    keep: Path | None,
) -> tuple[AuditReport, Auditor]:
    from consumers.audit_replay import remote_target

    client = options.client(url)
    published = RemoteHistory(client)
    history: RemoteHistory | TileHistory = (
        TileHistory(options.tile_mirror(tiles_url), published) if tiles_url else published
    )
    key = log_key or str(client._call("GET", "/log/key")["verifier_key"])
    # A mirror ends at its checkpoint, the live read model at its latest event: the read model
    # is compared only when the log comes from the API itself.
    target = None if tiles_url else remote_target(client)
    return _audited(history, RemoteAnchors(client), target, keep, key, chain, confirmations, resume)


def _audited(
    history: History,
    anchors: Anchors,
    target: Target | None,
    keep: Path | None,
    key: str | None,
    chain: Chain | None,
    confirmations: int,
    resume: Resume | None = None,
    stored: Callable[[int, int], list[StoredEntry]] | None = None,
    resumable: bool | None = None,
) -> tuple[AuditReport, Auditor]:
    """The audit of ``history`` (with ``stored``, the event store's envelopes, checked against
    it), its read model compared with ``target``, with a helper process and the replay in a
    process of its own where they pay. The state to resume from is kept when it will be saved
    (``resumable``; by default when the read model's replay is kept, that is with a state file).
    """
    from consumers.audit_replay import replay_for

    assert key is not None
    entries = history.size() - (resume.size if resume else 0)
    replay = replay_for(target, keep, entries) if target is not None else None
    helper = helper_for(entries)
    try:
        with _progress(history.size()) as bar:
            auditor = Auditor(
                stored,
                history,
                anchors,
                key,
                chain,
                confirmations=confirmations,
                replay=replay,
                resume=resume,
                resumable=keep is not None if resumable is None else resumable,
                progress=lambda done, total: bar.update(done - bar.n),
                ahead=helper,
            )
            return auditor.run(), auditor
    finally:
        if helper is not None:
            helper.close()
        if replay is not None:
            replay.close()
