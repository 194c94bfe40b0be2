"""Ingest benchmark: bulk issuance through the ledger vs a bare eventsourcing application.

Both sides run in one command, on SQLite in fresh temporary directories, on the same pre-signed
commands (signing is the issuer's cost, not the ledger's), each in fresh processes that load
their inputs before the clock starts. The ledger validates every command against the EU rules,
verifies the learner commitment and the issuer's secp256k1 signature, seals the learner's data
and appends the events; the bare application appends one equivalent event per credential with
no checks at all. Both are run with one process and with two processes writing to one store.
Then ``credledger serve``, in its own process, is measured over HTTP with single-credential
requests and with bulk requests of 100, sent one after another.

    .venv/bin/python bench/ingest.py [--credentials 20000] [--http-requests 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import httpx
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger.application.storage import open_storage
from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.signing import IssuerKey
from ledger.settings import Settings, create_secrets

BATCH = 100


class BareCredential(Aggregate):
    @event("Issued")
    def __init__(self, issuer_id: str, command: dict[str, Any], signature: str) -> None:
        self.issuer_id = issuer_id


class BareApplication(Application[Any]):
    pass


def _load(path: Path) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = json.loads(path.read_text())
    gc.collect()
    gc.freeze()  # the inputs are not garbage: keep the collector from rescanning them
    return bodies


def ledger_worker(data_dir: Path, bodies_file: Path, ready: Any, go: Any) -> None:
    bodies = _load(bodies_file)
    storage = open_storage(Settings(data_dir=data_dir))
    ready.put(1)
    go.get()
    for start in range(0, len(bodies), BATCH):
        items = [SignedCommand(**b) for b in bodies[start : start + BATCH]]
        outcomes = storage.ledger.issue_many(items)
        assert all(not isinstance(o, Exception) for o in outcomes), outcomes[:1]
    storage.close()


def _bare_application(db_file: Path) -> BareApplication:
    return BareApplication(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(db_file),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    )


def make_bare_store(db_file: Path) -> None:
    """Create the bare side's store (its tables, in WAL mode) before its workers start: two
    workers switching a new file to WAL at once could fail with "database is locked", which
    SQLite's busy timeout does not cover."""
    _bare_application(db_file).close()


def bare_worker(db_file: Path, bodies_file: Path, ready: Any, go: Any) -> None:
    bodies = _load(bodies_file)
    app = _bare_application(db_file)
    ready.put(1)
    go.get()
    for start in range(0, len(bodies), BATCH):
        app.save(
            *(
                BareCredential(
                    issuer_id=b["command"]["issuer_id"],
                    command=b["command"],
                    signature=b["signature"],
                )
                for b in bodies[start : start + BATCH]
            )
        )


def run_processes(target: Callable[..., None], store: Path, parts: list[Path]) -> float:
    """Seconds from releasing the loaded workers until the last one finished."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Queue(), context.Queue()
    processes = [context.Process(target=target, args=(store, p, ready, go)) for p in parts]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=120)
        start = time.perf_counter()
        for _ in processes:
            go.put(1)
        for process in processes:
            process.join()
            assert process.exitcode == 0, f"{target.__name__} failed"
        return time.perf_counter() - start
    finally:
        # A worker that failed leaves the others waiting for their start: stop them.
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_rates(
    data_dir: Path,
    single: list[dict[str, Any]],
    bulk: list[dict[str, Any]],
    metrics: bool = True,
) -> tuple[float, float, list[float]]:
    """Rates against ``credledger serve`` in its own process, as a deployment runs it (with
    metrics counted, the default, or turned off), and each single request's seconds."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CREDLEDGER_METRICS": "true" if metrics else "false"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as probe:
            for _ in range(300):
                try:
                    if probe.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            # The API opens once the read model is up; the consumers' process may still be
            # starting (its imports take a core for seconds). Measured from when it has logged
            # the start-up write, so that the rates are those of a running deployment.
            while probe.get("/log/state").json()["size"] < 1:
                time.sleep(0.1)
        # A plain keep-alive connection: the client's own overhead should not be measured.
        connection = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"content-type": "application/json"}
        latencies: list[float] = []

        def post_each() -> None:
            for body in single:
                sent = time.perf_counter()
                connection.request("POST", "/credentials", json.dumps(body), headers)
                response = connection.getresponse()
                response.read()
                latencies.append(time.perf_counter() - sent)
                assert response.status == 201, response.status

        single_seconds = timed(post_each)
        connection.close()
        client = LedgerClient(url)
        bulk_seconds = timed(
            lambda: [client.bulk_issue(bulk[i : i + BATCH]) for i in range(0, len(bulk), BATCH)]
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return len(single) / single_seconds, len(bulk) / bulk_seconds, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=20_000)
    parser.add_argument("--http-requests", type=int, default=1_000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Runs of each side of the in-process comparison (alternating which goes first).",
    )
    parser.add_argument(
        "--metrics-rounds",
        type=int,
        default=2,
        help="Rounds of the HTTP runs with metrics off and on (alternating which goes first).",
    )
    args = parser.parse_args()
    n = args.credentials

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = root / "template"
        create_secrets(template)
        key = IssuerKey.generate()
        storage = open_storage(Settings(data_dir=template))
        issuer = storage.ledger.register_issuer(
            IssuerRegistration(**samples.issuer_registration(key.address))
        )
        storage.close()
        signer = CommandSigner(key, str(issuer.id))
        content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
        total = n + 2 * args.http_requests
        print(f"signing {total} commands ...", file=sys.stderr)
        bodies = [
            signer.issue(content, {"identifier": f"s{i:07}", "full_name": f"Learner {i}"})
            for i in range(total)
        ]

        rows = []
        for processes in (1, 2):
            parts = []
            for index in range(processes):
                part = root / f"bodies-{processes}-{index}.json"
                part.write_text(json.dumps(bodies[:n][index::processes]))
                parts.append(part)
            # Rounds alternate which side goes first, so that the machine's drift falls on both
            # alike; the ratio is of the medians.
            rates: dict[str, list[float]] = {"ours": [], "bare": []}
            for round_no in range(args.rounds):
                sides = ("bare", "ours") if round_no % 2 == 0 else ("ours", "bare")
                for side in sides:
                    store = root / f"{side}-{processes}-{round_no}"
                    if side == "bare":
                        store.mkdir()
                        make_bare_store(store / "events.sqlite")
                        seconds = run_processes(bare_worker, store / "events.sqlite", parts)
                    else:
                        shutil.copytree(template, store)
                        seconds = run_processes(ledger_worker, store, parts)
                    rates[side].append(n / seconds)
            rows.append((processes, rates["ours"], rates["bare"]))

        http_dir = root / "http"
        shutil.copytree(template, http_dir)
        gc.collect()
        gc.freeze()
        single_bodies, bulk_bodies = (
            bodies[n : n + args.http_requests],
            bodies[n + args.http_requests :],
        )
        single_rate, bulk_rate, latencies = http_rates(http_dir, single_bodies, bulk_bodies)
        # The metrics' cost: the same requests into fresh copies of the same store, metrics off
        # and on in turn, so drift on the machine falls on both alike.
        by_setting: dict[bool, list[tuple[float, float, list[float]]]] = {False: [], True: []}
        for round_no in range(args.metrics_rounds):
            order = (False, True) if round_no % 2 == 0 else (True, False)
            for metrics in order:
                fresh = root / f"http-metrics-{round_no}-{metrics}"
                shutil.copytree(template, fresh)
                by_setting[metrics].append(http_rates(fresh, single_bodies, bulk_bodies, metrics))

    print(
        f"machine: {platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"Python {platform.python_version()}; {n} credentials in batches of {BATCH}, SQLite"
    )
    print(
        f"processes | ledger (checks + signatures + vault + events) | bare eventsourcing | ratio"
        f" (medians of {args.rounds} rounds)"
    )
    for processes, ours_rates, bare_rates in rows:
        ours_rate, bare_rate = statistics.median(ours_rates), statistics.median(bare_rates)
        print(
            f"{processes:9} | {ours_rate:37.0f}/s | {bare_rate:15.0f}/s | "
            f"{ours_rate / bare_rate:5.2f}"
        )
        if args.rounds > 1:
            pairs = zip(ours_rates, bare_rates, strict=True)
            each = ", ".join(f"{ours:.0f}/{bare:.0f}" for ours, bare in pairs)
            print(f"          rounds (ledger/bare): {each}")
    latencies.sort()
    print(
        f"HTTP, one credential per request, sequential: {single_rate:6.0f} credentials/s "
        f"(request p50 {statistics.median(latencies) * 1000:.2f} ms, "
        f"p90 {latencies[int(len(latencies) * 0.9) - 1] * 1000:.2f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.2f} ms, "
        f"slowest {latencies[-1] * 1000:.1f} ms)"
    )
    print(f"HTTP, bulk requests of {BATCH}, sequential:      {bulk_rate:6.0f} credentials/s")
    if args.metrics_rounds:
        print(f"metrics cost over {args.metrics_rounds} rounds (mean rates, off | on | on/off):")
        for label, index in (("single", 0), (f"bulk {BATCH}", 1)):
            off_rate, on_rate = (
                statistics.fmean(map(itemgetter(index), by_setting[flag])) for flag in (False, True)
            )
            print(f"  {label:9} | {off_rate:6.0f}/s | {on_rate:6.0f}/s | {on_rate / off_rate:5.3f}")


if __name__ == "__main__":
    main()
