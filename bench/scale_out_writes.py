"""Single writes on the scale-out deployment: what a credential costs, alone and with company.

PostgreSQL, Apache Kafka and Anvil from deploy/ (stopped again at the end if started here),
``serve --workers 2`` with the Kafka transport, as ``bench/e2e.py`` runs it. Each run starts a
deployment on a database of its own, lets it settle, then measures:

- **idle**: the CPU each part spends over ``--idle`` seconds with nothing asked of it;
- **sequential**: ``--requests`` one-credential issue requests, one after another on one
  keep-alive connection (each answered once the read model has it);
- **concurrent**: as many again from ``--clients`` threads.

For each: requests a second, p50 and p99 latency, and the CPU milliseconds each part spends a
request (from ``/proc``). With ``--against PATH`` (another checkout, e.g. a ``git worktree`` of
an earlier commit) the two are run alternately ``--pairs`` times, which one first alternating
too (the broker warms up over its first minutes), with the ratios and their medians.

    .venv/bin/python bench/scale_out_writes.py [--requests 400] [--clients 8] [--pairs 2]
        [--against PATH]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from e2e import (
    CpuMeter,
    Deployment,
    ThreadClients,
    _content,
    run_database,
    scale_out_environment,
    services,
)
from single_writes import Run

from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.settings import read_secrets

SETTLE_SECONDS = 5.0


def _per(spent: dict[str, float], count: float) -> dict[str, float]:
    ordered = sorted(spent.items(), key=lambda item: -item[1])
    return {part: seconds * 1000 / count for part, seconds in ordered if seconds > 0}


def _measure(
    deployment: Deployment, requests: int, clients: int, idle: float
) -> tuple[dict[str, float], list[Run]]:
    """CPU ms a second by part while idle; then the sequential run and the concurrent one."""
    token = read_secrets(deployment.data_dir)["admin_token"]
    key = IssuerKey.generate()
    with LedgerClient(deployment.url, admin_token=token) as admin:
        issuer = admin.register_issuer(samples.issuer_registration(key.address))
    signer = CommandSigner(key, issuer["issuer_id"])
    content = _content(time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
    bodies = [
        signer.issue(content, {"identifier": f"w-{i}", "full_name": "Ana Núñez"})
        for i in range(2 * requests + 20)
    ]
    client = ThreadClients(deployment.url, timeout=60)
    for body in bodies[:20]:  # connections open, every path warm
        client().issue(body)
    time.sleep(SETTLE_SECONDS)
    meter = CpuMeter(deployment.process.pid)
    before = meter.read()
    time.sleep(idle)
    idle_cpu = _per(CpuMeter.spent(before, meter.read()), idle)

    def timed(body: dict[str, Any], into: list[float]) -> None:
        sent = time.monotonic()
        client().issue(body)
        into.append(time.monotonic() - sent)

    runs = []
    for threads, chunk in ((1, bodies[20 : 20 + requests]), (clients, bodies[20 + requests :])):
        latencies: list[float] = []
        before, started = meter.read(), time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(timed, chunk, [latencies] * len(chunk)))
        seconds = time.monotonic() - started
        spent = CpuMeter.spent(before, meter.read())
        runs.append(Run(len(chunk) / seconds, latencies, _per(spent, len(chunk))))
    client.close()
    return idle_cpu, runs


def run(
    requests: int, clients: int, idle: float, source: Path | None, name: str, work: Path
) -> tuple[dict[str, float], list[Run]]:
    """One deployment (from ``source``, else this checkout) on a fresh database, measured."""
    with run_database("bench") as database:
        deployment = Deployment(name, scale_out_environment(database), 2, work, source=source)
        try:
            return _measure(deployment, requests, clients, idle)
        finally:
            deployment.stop()


def _report(label: str, measured: tuple[dict[str, float], list[Run]], clients: int) -> None:
    idle, (sequential, concurrent) = measured
    parts = ", ".join(f"{part} {ms:.2f}" for part, ms in idle.items())
    print(f"{label}, idle: CPU ms a second: {parts}")
    print(sequential.line(f"{label}, sequential"))
    print(concurrent.line(f"{label}, {clients} clients"), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured idle")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--against", type=Path, help="another checkout, run alternately")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        services(("postgres", "kafka", "anvil"), Path(tmp) / "chain"),
    ):
        if args.against is None:
            _report(
                "this",
                run(args.requests, args.clients, args.idle, None, "this", Path(tmp)),
                args.clients,
            )
            return
        source = args.against.resolve()
        sequential, concurrent = [], []
        for pair in range(args.pairs):
            # The broker warms up over the first minutes: which code runs first alternates.
            order = ((None, "this"), (source, "against"))
            measured = {}
            for checkout, label in order if pair % 2 == 0 else order[::-1]:
                measured[label] = run(
                    args.requests, args.clients, args.idle, checkout, f"{label}-{pair}", Path(tmp)
                )
                _report(label, measured[label], args.clients)
            this, other = measured["this"], measured["against"]
            pairs = list(zip(this[1], other[1], strict=True))
            ratios = [mine.rate / theirs.rate for mine, theirs in pairs]
            sequential.append(ratios[0])
            concurrent.append(ratios[1])
            cpu = [sum(mine.cpu.values()) / sum(theirs.cpu.values()) for mine, theirs in pairs]
            idle = sum(this[0].values()) / sum(other[0].values())
            print(
                f"   pair {pair + 1}: this / against: rate sequential {ratios[0]:.2f}x,"
                f" {args.clients} clients {ratios[1]:.2f}x; CPU idle {idle:.2f}x,"
                f" a sequential request {cpu[0]:.2f}x, a concurrent one {cpu[1]:.2f}x",
                flush=True,
            )
        print(
            f"median this / against: sequential {statistics.median(sequential):.2f}x,"
            f" {args.clients} clients {statistics.median(concurrent):.2f}x"
        )


if __name__ == "__main__":
    main()
