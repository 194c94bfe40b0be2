"""What a credential costs each stage of the pipeline, in instructions: a measure this
machine's hour does not move.

The wall-clock benchmarks here move by up to 2x from one hour to the next (the machine's
speed changes under us), so a change of a few percent in one stage is lost in them. Valgrind's
callgrind counts the instructions a process executes, whatever else the machine is doing: the
same code on the same input gives the same count to within a fraction of a percent.

One process, under callgrind (Anvil, the chain, runs natively beside it), on a fresh embedded
store (SQLite, document hashing in the same process): it registers an issuer, signs the
commands (not counted), runs every stage once on a first bulk of credentials (so that nothing
is counted the first time, such as a compiled pattern or a model's schema), settles its heap as
the deployment's processes do, and then counts each stage over ``--credentials`` more:

1. **intake**: ``Ledger.issue_many`` in bulks of 100 (signatures, checks, the events and the
   learners' data written): the serving process's work below HTTP;
2. **log**: the log consumer appends the events and signs the checkpoints;
3. **documents**: each credential's Blockcerts document built and hashed (RDFC-1.0), as the
   hashing processes do, and its recipe read from the store, as the consumers' process does;
4. **anchoring**: each batch of 100 anchored on the chain and the anchor recorded (its share
   of a credential, with the log's entries for the anchors' events);
5. **read model**: the projector applies the events;
6. **audit**: ``credledger audit``'s checks, in one process, over the whole history: per log
   entry.

Counting starts and stops at the entry and exit of ``itertools.starmap``'s step, which wraps
each stage once and which the ledger's code never calls (a stage that did would add a dump,
and the benchmark says so). With ``--against PATH`` (another checkout, e.g. a ``git worktree``
of an earlier commit) both are counted, side by side (the two run at once, one on each core:
counts do not depend on it), with the ratios.

    .venv/bin/python bench/instructions.py [--credentials 300] [--against PATH]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

STAGES = ("intake", "log", "documents", "anchoring", "read model", "audit")
BULK = 100
# The first bulk: every stage run once on it before anything is counted.
WARM_UP = 100


def _counted(stage: Callable[[], object]) -> None:
    """Runs ``stage`` inside one step of ``itertools.starmap``: what callgrind counts."""
    next(itertools.starmap(stage, [()]))


def child(credentials: int, work: Path) -> None:
    """The measured process (under callgrind)."""
    from pydantic import SecretStr

    from anchors.anvil import ManagedAnvil, dev_account, find_anvil
    from consumers.audit_replay import local_target, replay_for
    from consumers.envelope import StoredEnvelopes
    from ledger.audit.auditor import Auditor
    from ledger.audit.sources import LocalHistory
    from ledger.client import CommandSigner
    from ledger.domain import samples
    from ledger.domain.commands import IssuerRegistration, SignedCommand
    from ledger.domain.signing import IssuerKey
    from ledger.operations import heap
    from ledger.runtime.embedded import EmbeddedLedger
    from ledger.settings import Settings, create_secrets

    binary = find_anvil()
    if binary is None:
        sys.exit("anvil is not installed: run the README's first command")
    node = ManagedAnvil(binary, state_file=None).start()
    try:
        create_secrets(work / "data")
        settings = Settings(
            data_dir=work / "data",
            chain="rpc",
            chain_rpc_url=node.url,
            chain_private_key=SecretStr(dev_account().key.hex()),
            chain_id=node.chain_id,
            batch_size=BULK,
            batch_age_seconds=3600,
            hash_processes=0,
        )
        embedded = EmbeddedLedger(settings)  # its threads not started: this drives it
        storage = embedded.storage
        app = storage.ledger
        key = IssuerKey.generate()
        registration = IssuerRegistration(**samples.issuer_registration(key.address))
        signer = CommandSigner(key, str(app.register_issuer(registration).id))
        content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
        bodies = [
            SignedCommand(**signer.issue(content, {"identifier": f"s{i}", "full_name": "L"}))
            for i in range(WARM_UP + credentials)
        ]
        leaves = embedded.anchor_consumer.leaves

        def intake(first: int, last: int) -> Callable[[], None]:
            def run() -> None:
                for at in range(first, last, BULK):
                    app.issue_many(bodies[at : min(at + BULK, last)])

            return run

        def documents() -> None:
            # What the hashing does for every entry the log holds beyond the last anchor.
            leaves.ahead(storage.anchors.latest_size(), storage.log.size())

        def anchor_all() -> None:
            while True:
                embedded.log_consumer.catch_up()
                embedded.anchor_consumer.step()
                latest = storage.anchors.latest()
                checkpoint = storage.log.store.latest_checkpoint()
                size = latest.checkpoint_size if latest and latest.state == "recorded" else -1
                if checkpoint and size == checkpoint[0]:
                    return

        def audit() -> None:
            replay = replay_for(local_target(storage.read_model), None, 0)
            try:
                report = Auditor(
                    StoredEnvelopes(app).decoded,
                    LocalHistory(storage.log),
                    storage.anchors,
                    embedded.signer.verifier_key(),
                    embedded.chain.chain,
                    replay=replay,
                ).run()
            finally:
                replay.close()
            if not report.clean:
                raise RuntimeError(f"the audit found {report.finding}")

        stages: list[Callable[[], object]] = [
            intake(WARM_UP, WARM_UP + credentials),
            embedded.log_consumer.catch_up,
            documents,
            anchor_all,
            embedded.projector.catch_up,
            audit,
        ]
        # Once, uncounted, on the first bulk: then settled as a running process is.
        for stage in [intake(0, WARM_UP), *stages[1:5]]:
            stage()
        heap.settle()
        for stage in stages[:5]:
            _counted(stage)
        entries = storage.log.size()
        _counted(stages[5])
        print(f"entries {entries}", flush=True)
    finally:
        node.stop()


def _totals(dumps: list[Path]) -> list[int]:
    totals = []
    for dump in dumps:
        text = dump.read_text()
        found = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.MULTILINE)
        totals.append(int(found.group(1)) if found else 0)
    return totals


def measure(credentials: int, source: Path | None, work: Path) -> dict[str, float]:
    """Instructions a credential (the audit: a log entry) of each stage, from ``source``
    (None: this checkout)."""
    work.mkdir(parents=True)
    env = dict(os.environ, PYTHONHASHSEED="0")
    if source is not None:
        from anchors.anvil import find_anvil

        env["PYTHONPATH"] = str(source)
        env["CREDLEDGER_ANVIL_PATH"] = str(find_anvil())
    out = work / "callgrind.out"
    finished = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=starmap_next",
            "--dump-after=starmap_next",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            str(work),
            "--credentials",
            str(credentials),
        ],
        env=env,
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"the measured process failed:\n{finished.stderr[-3000:]}")
    entries = int(re.findall(r"^entries (\d+)$", finished.stdout, re.MULTILINE)[-1])
    dumps = sorted(work.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
    totals = [t for t in _totals(dumps) if t > 0]
    if len(totals) != len(STAGES):
        raise RuntimeError(
            f"{len(totals)} counted sections for {len(STAGES)} stages: a stage calls "
            "itertools.starmap itself, and the counts cannot be told apart"
        )
    per = [credentials] * (len(STAGES) - 1) + [entries]
    return {stage: total / n for stage, total, n in zip(STAGES, totals, per, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=300)
    parser.add_argument("--against", type=Path, help="another checkout, counted beside this")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.credentials, args.child)
        return
    if args.credentials % BULK:
        parser.error(f"--credentials must be a multiple of {BULK}")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="credledger-instructions-") as tmp:
        sources: dict[str, Path | None] = {"this": None}
        if args.against is not None:
            sources["against"] = args.against.resolve()
        with ThreadPoolExecutor(len(sources)) as pool:
            counted = dict(
                zip(
                    sources,
                    pool.map(
                        lambda item: measure(args.credentials, item[1], Path(tmp) / item[0]),
                        sources.items(),
                    ),
                    strict=True,
                )
            )
    header = "stage (per credential; audit: per log entry)"
    columns = " | ".join(f"{name:>12}" for name in counted)
    print(f"{header:46} | {columns}" + (" |  ratio" if len(counted) == 2 else ""))
    totals: dict[str, float] = collections.defaultdict(float)
    for stage in STAGES:
        cells = []
        for name, figures in counted.items():
            totals[name] += figures[stage]
            cells.append(f"{figures[stage] / 1e6:10.3f} M")
        line = f"{stage:46} | " + " | ".join(cells)
        if len(counted) == 2:
            line += f" | {counted['this'][stage] / counted['against'][stage]:5.3f}x"
        print(line)
    cells = [f"{totals[name] / 1e6:10.3f} M" for name in counted]
    line = f"{'all six':46} | " + " | ".join(cells)
    if len(counted) == 2:
        line += f" | {totals['this'] / totals['against']:5.3f}x"
    print(line)


if __name__ == "__main__":
    main()
