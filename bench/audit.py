"""Audit benchmark: a full audit of a 100,000-event history, side by side with a plain replay.

It builds the history on SQLite (bulk issuance through the ledger, every event logged, a
checkpoint every 200 entries, the largest batch, every checkpoint anchored on a local Anvil
node, as the embedded default anchors), then, in one run: replays the events through the
read-model projector into a scratch database without any check, and audits everything:
envelopes against the event store, issuer signatures with the register replayed, the tree and
every checkpoint, every anchor transaction, and the read model replayed and compared. The audit
runs twice: in one process, and as `credledger audit` runs a long one, with its helper process
(the signers recovered a batch ahead) and its read-model replay in a process of its own, both
on the other core. It reports events per second for each and where the time goes.

    .venv/bin/python bench/audit.py [--events 100000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from anchors.anvil import ManagedAnvil, dev_account, find_anvil
from consumers.audit_replay import local_target, replay_for
from consumers.envelope import StoredEnvelopes
from consumers.follower import NotificationFollower
from consumers.projector import ReadModelProjector
from ledger.audit.auditor import Auditor
from ledger.audit.helper import helper_for
from ledger.audit.sources import LocalHistory
from ledger.client import CommandSigner
from ledger.domain import samples
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.signing import IssuerKey
from ledger.persistence.sqlite import SQLiteReadModel
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import Settings, create_secrets


def build_history(embedded: EmbeddedLedger, events: int) -> None:
    app = embedded.storage.ledger
    key = IssuerKey.generate()
    issuer = app.register_issuer(IssuerRegistration(**samples.issuer_registration(key.address)))
    signer = CommandSigner(key, str(issuer.id))
    content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
    issued = 1
    while issued < events:
        count = min(500, events - issued)
        bodies = [
            SignedCommand(
                **signer.issue(content, {"identifier": f"s{issued + i}", "full_name": "L"})
            )
            for i in range(count)
        ]
        app.issue_many(bodies)
        issued += count
        print(f"history: {issued} events", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    embedded.projector.catch_up()
    while True:
        embedded.log_consumer.catch_up()
        embedded.anchor_consumer.step()
        latest = embedded.storage.anchors.latest()
        checkpoint = embedded.storage.log.store.latest_checkpoint()
        if (
            latest
            and checkpoint
            and latest.state == "recorded"
            and (latest.checkpoint_size == checkpoint[0])
        ):
            break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    binary = find_anvil()
    if binary is None:
        sys.exit("anvil is not installed: run the README's first command")
    node = ManagedAnvil(binary, state_file=None).start()
    try:
        run(args.events, node)
    finally:
        node.stop()


def run(events: int, node: ManagedAnvil) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        create_secrets(Path(tmp) / "data")
        settings = Settings(
            data_dir=Path(tmp) / "data",
            chain="rpc",
            chain_rpc_url=node.url,
            chain_private_key=SecretStr(dev_account().key.hex()),
            chain_id=node.chain_id,
            batch_size=1000,
            batch_age_seconds=3600,
        )
        embedded = EmbeddedLedger(settings)  # threads not started: the bench drives it
        build_history(embedded, events)
        storage = embedded.storage
        gc.collect()
        gc.freeze()

        start = time.perf_counter()
        scratch = SQLiteReadModel(Path(tmp) / "plain-replay.sqlite")
        ReadModelProjector(
            NotificationFollower(storage.ledger, batch_size=1000), scratch
        ).catch_up()
        replay_seconds = time.perf_counter() - start

        audits = {}
        for helped in (False, True):
            start = time.perf_counter()
            # As `credledger audit` runs it: helper and replay processes where they pay (helped).
            entries = storage.log.size() if helped else 0
            replay = replay_for(local_target(storage.read_model), None, entries)
            helper = helper_for(entries)
            try:
                report = Auditor(
                    StoredEnvelopes(storage.ledger).decoded,
                    LocalHistory(storage.log),
                    storage.anchors,
                    embedded.signer.verifier_key(),
                    embedded.chain.chain,
                    replay=replay,
                    ahead=helper,
                ).run()
            finally:
                replay.close()
                if helper is not None:
                    helper.close()
            audits[helped] = (time.perf_counter() - start, report)
            assert report.clean, report.finding
        stored = len(storage.ledger.recorder.select_notifications(start=None, limit=10**7))

    print(
        f"history: {stored} events, {report.entries} logged, {report.checkpoints} checkpoints,"
        f" {report.anchors} anchors, SQLite, Anvil"
    )
    print(f"plain replay through the projector: {stored / replay_seconds:8.0f} events/s")
    for helped, label in ((False, "one process"), (True, "with its helper and replay processes")):
        seconds, report = audits[helped]
        print(f"full audit (every check), {label}: {report.entries / seconds:8.0f} events/s")
        print(f"  ratio audit / replay:                {replay_seconds / seconds:8.2f}")
        print("  where the audit's time goes (the helper's share is not in these):")
        for phase, spent in sorted(report.timings.items(), key=lambda item: -item[1]):
            print(f"    {phase:45} {spent:6.2f} s  {100 * spent / seconds:5.1f} %")


if __name__ == "__main__":
    main()
