"""End to end: sustained issuing and issue-to-anchored latency, scale-out beside embedded.

In one run, on this machine, two deployments of `credledger serve` each get the same work:
- **scale-out**: PostgreSQL, Apache Kafka and Anvil started from deploy/, two API workers, the
  consumers (Kafka relay, log, anchoring, read model) once in the serving process;
- **embedded** (the default): SQLite, the ledger's own Anvil node, the API in the serving
  process, the read model's projector in one process it keeps beside it and the log and
  anchoring consumers in another.

For each: 10,000 pre-signed credentials sent as bulk requests of 100 by 8 concurrent clients
(sustained rate); once all of them are anchored, 1,000 single-credential requests by 8 clients
(single rate), so the singles do not wait behind the bulk phase's backlog. The
issue-to-anchored latency of every credential is the time from its request's answer to the
moment its document appears in a recorded anchor (`GET /log/anchors`, polled every 0.2 s),
reported for each phase.

    .venv/bin/python bench/e2e.py [--credentials 10000] [--singles 1000] [--batch-age 2]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import UnknownTopicOrPartitionError

from anchors.anvil import dev_account
from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.settings import read_secrets

ROOT = Path(__file__).resolve().parents[1]
PG_PORT = 25432
# Where deploy/postgres.sh's cluster keeps its Unix socket: the deployment's processes share the
# machine with it, and the socket spares them and the server the TCP stack (about 5% of the
# scale-out deployment's CPU a credential at 100,000).
PG_SOCKET_DIR = "/tmp"
BROKER = "127.0.0.1:29092"
CLIENTS = 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _deploy(service: str, action: str, env: dict[str, str] | None = None) -> int:
    """Run a deploy script's ``action`` (start, stop, status); its exit status."""
    script = str(ROOT / "deploy" / f"{service}.sh")
    environment = None if env is None else {**os.environ, **env}
    return subprocess.run(
        ["bash", script, action], check=action != "status", env=environment
    ).returncode


@contextmanager
def services(names: tuple[str, ...], chain_home: Path | None = None) -> Iterator[None]:
    """The deploy scripts' services running; those that were not running before are
    stopped again at the end (a benchmark stops what it starts). With ``chain_home``, an
    Anvil started here keeps its chain there, not under .deploy: a new chain for the run, as
    the embedded default's own node starts one (a chain kept from earlier runs costs the node
    CPU: it writes its whole state out every second)."""
    env = None if chain_home is None else {"CREDLEDGER_ANVIL_HOME": str(chain_home)}
    started = [name for name in names if _deploy(name, "status") != 0]
    try:
        for name in started:
            _deploy(name, "start", env)
        yield
    finally:
        for name in reversed(started):
            _deploy(name, "stop", env)


@contextmanager
def run_database(prefix: str) -> Iterator[str]:
    """A database on deploy/'s PostgreSQL made for one run, and its name; at the end it is
    dropped, and the broker's topic of the same name (``scale_out_environment``) deleted."""
    database = f"{prefix}_{uuid.uuid4().hex[:10]}"
    psql = ["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-qc"]
    subprocess.run([*psql, f"CREATE DATABASE {database} OWNER credledger"], check=True)
    try:
        yield database
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], check=False)
        asyncio.run(_delete_topic(f"{database}.events"))


async def _delete_topic(topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    except UnknownTopicOrPartitionError:
        pass
    finally:
        await admin.close()


def scale_out_environment(database: str) -> dict[str, str]:
    """The scale-out deployment's settings: ``database`` on deploy/'s PostgreSQL (through its
    Unix socket), a topic of the same name on its broker, its Anvil over RPC with a development
    account."""
    return {
        "CREDLEDGER_STORE": "postgres",
        "CREDLEDGER_POSTGRES_HOST": PG_SOCKET_DIR,
        "CREDLEDGER_POSTGRES_PORT": str(PG_PORT),
        "CREDLEDGER_POSTGRES_DBNAME": database,
        "CREDLEDGER_POSTGRES_PASSWORD": "credledger",
        "CREDLEDGER_POSTGRES_POOL_SIZE": "10",
        "CREDLEDGER_TRANSPORT": "kafka",
        "CREDLEDGER_KAFKA_TOPIC": f"{database}.events",
        "CREDLEDGER_CHAIN": "rpc",
        "CREDLEDGER_CHAIN_RPC_URL": "http://127.0.0.1:28545",
        "CREDLEDGER_CHAIN_PRIVATE_KEY": dev_account(8).key.hex(),
    }


def _content(issued: str) -> dict[str, Any]:
    return samples.credential_content(datetime.fromisoformat(issued))


_HZ = os.sysconf("SC_CLK_TCK")


def process_table() -> dict[int, tuple[int, str, float, int]]:
    """pid -> (parent pid, command line, CPU seconds, threads), from /proc (Linux)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        threads = int(next(line for line in status.splitlines() if line.startswith("Threads:"))[8:])
        cpu = (int(fields[11]) + int(fields[12])) / _HZ
        found[int(entry)] = (int(fields[1]), command, cpu, threads)
    return found


def proc_number(pid: int, name: str, key: str) -> int | None:
    """The first number of the ``key:`` line of ``/proc/PID/name`` (``status``, ``io``), or None
    if the process is gone or the file has no such line."""
    try:
        text = Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return None
    line = next((x for x in text.splitlines() if x.startswith(f"{key}:")), None)
    return None if line is None else int(line.split()[1])


class CpuMeter:
    """CPU seconds each part of a deployment spends between two readings."""

    def __init__(self, serving_pid: int) -> None:
        self.serving_pid = serving_pid

    def _part(self, pid: int, table: dict[int, tuple[int, str, float, int]]) -> str:
        parent, command, _, threads = table[pid]
        if pid == self.serving_pid:
            # Scale-out: the consumers; embedded: the API.
            return "serving process"
        if pid == os.getpid():
            return "benchmark clients"
        if "anvil" in command:
            return "Anvil"
        if "ledger.runtime.consumer_process" in command:
            if command.split()[-1] == "read-model":
                return "read-model process"
            return "consumers' process (log, anchoring)"
        ancestor = parent
        while ancestor > 1 and ancestor in table:
            if ancestor == self.serving_pid:
                # The hashing pool's process runs one thread; a uvicorn worker runs many.
                return "document hashing" if threads <= 2 else "API workers"
            ancestor = table[ancestor][0]
        if "postgres" in command:
            return "PostgreSQL"
        if "kafka.Kafka" in command:
            return "Kafka broker"
        return "other"

    def read(self) -> dict[str, float]:
        table = process_table()
        parts: dict[str, float] = {}
        for pid, (_, _, cpu, _) in table.items():
            part = self._part(pid, table)
            parts[part] = parts.get(part, 0.0) + cpu
        return parts

    def written(self) -> dict[str, float]:
        """Bytes each part has had written to disk (``write_bytes`` of ``/proc/PID/io``: the
        pages it dirtied that reached the disk, a checkpoint's copies and the log's included)."""
        table = process_table()
        parts: dict[str, float] = {}
        for pid in table:
            written = proc_number(pid, "io", "write_bytes")
            if written is not None:
                part = self._part(pid, table)
                parts[part] = parts.get(part, 0.0) + written
        return parts

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {part: after[part] - before.get(part, 0.0) for part in after}


class ThreadClients:
    """One keep-alive connection per client thread, as a real client would hold (a client made
    for each request spent more CPU than the ledger did: its TLS context alone)."""

    def __init__(self, url: str, timeout: float) -> None:
        self._url, self._timeout = url, timeout
        self._held = threading.local()
        self._opened: list[LedgerClient] = []

    def __call__(self) -> LedgerClient:
        """This thread's client."""
        if not hasattr(self._held, "client"):
            self._held.client = LedgerClient(self._url, timeout=self._timeout)
            self._opened.append(self._held.client)
        kept: LedgerClient = self._held.client
        return kept

    def close(self) -> None:
        for kept in self._opened:
            kept.close()


class Deployment:
    def __init__(
        self,
        name: str,
        env: dict[str, str],
        workers: int,
        work: Path,
        source: Path | None = None,
    ) -> None:
        """``serve`` with ``env`` and ``workers``; from ``source`` (another checkout of
        credledger) if given, else this one."""
        self.name = name
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = work / name
        checkout = {} if source is None else {"PYTHONPATH": str(source)}
        subprocess.run(
            [sys.executable, "-m", "ledger.cli", "init", "--data-dir", str(self.data_dir)],
            check=True,
            capture_output=True,
            cwd=source,
            env={**os.environ, **checkout},
        )
        command = [sys.executable, "-m", "ledger.cli", "serve", "--data-dir", str(self.data_dir)]
        command += ["--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env, **checkout},
            cwd=source,
            stdout=(work / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start; see {work / f'{name}.log'}")
            time.sleep(0.25)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)


def _run(deployment: Deployment, credentials: int, singles: int) -> dict[str, Any]:
    token = read_secrets(deployment.data_dir)["admin_token"]
    key = IssuerKey.generate()
    with LedgerClient(deployment.url, admin_token=token) as admin:
        issuer = admin.register_issuer(samples.issuer_registration(key.address))
    signer = CommandSigner(key, issuer["issuer_id"])
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    content = _content(now)
    learners = [{"identifier": f"b-{i}", "full_name": "Zoë Ångström"} for i in range(credentials)]
    bulks = [
        [signer.issue(content, learner) for learner in learners[i : i + 100]]
        for i in range(0, credentials, 100)
    ]
    single_bodies = [
        signer.issue(content, {"identifier": f"s-{i}", "full_name": "Ana Núñez"})
        for i in range(singles)
    ]
    answered: dict[str, float] = {}
    anchored: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        seen_size = 0
        with httpx.Client(base_url=deployment.url, timeout=30) as http:
            while not stop.is_set():
                page = http.get("/log/anchors", params={"after_size": seen_size, "limit": 500})
                for anchor in page.json()["items"]:
                    for document in anchor.get("documents", []):
                        anchored.setdefault(document["credential_id"], time.monotonic())
                    seen_size = max(seen_size, anchor["checkpoint_size"])
                stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    client = ThreadClients(deployment.url, timeout=120)

    def send_bulk(bodies: list[dict[str, Any]]) -> None:
        results = client().bulk_issue(bodies)
        at = time.monotonic()
        for result in results:
            assert result["ok"], result
            answered[result["result"]["credential_id"]] = at

    meter = CpuMeter(deployment.process.pid)
    cpu_before = meter.read()
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send_bulk, bulks))
    bulk_seconds = time.monotonic() - started
    cpu = CpuMeter.spent(cpu_before, meter.read())

    def all_anchored(phase: str) -> None:
        deadline = time.monotonic() + 600
        while not set(answered) <= set(anchored):
            if time.monotonic() > deadline:
                raise SystemExit(f"{deployment.name}: {phase} not anchored within 10 minutes")
            time.sleep(0.2)

    def percentiles(ids: list[str]) -> tuple[float, float]:
        latencies = sorted(anchored[c] - answered[c] for c in ids)
        return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]

    all_anchored("the bulk phase")
    bulk_ids = list(answered)
    request_times: list[float] = []

    def send_single(body: dict[str, Any]) -> None:
        sent = time.monotonic()
        result = client().issue(body)
        at = time.monotonic()
        request_times.append(at - sent)
        answered[result["credential_id"]] = at

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send_single, single_bodies))
    single_seconds = time.monotonic() - started
    client.close()
    all_anchored("the single requests")
    stop.set()
    single_ids = [c for c in answered if c not in set(bulk_ids)]
    p50, p99 = percentiles(bulk_ids)
    single_p50, single_p99 = percentiles(single_ids)
    return {
        "bulk_rate": credentials / bulk_seconds,
        "single_rate": singles / single_seconds,
        "single_request_p50": statistics.median(request_times),
        "p50": p50,
        "p99": p99,
        "single_p50": single_p50,
        "single_p99": single_p99,
        # CPU of the bulk phase, per part: cores busy, and milliseconds per credential.
        "bulk_cpu": {
            part: {"cores": seconds / bulk_seconds, "ms_each": seconds * 1000 / credentials}
            for part, seconds in sorted(cpu.items(), key=lambda item: -item[1])
            if seconds > 0
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=1_000)
    parser.add_argument("--batch-age", type=float, default=2.0)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as chain,
        services(("postgres", "kafka", "anvil"), Path(chain)),
    ):
        results = _both(args.credentials, args.singles, args.batch_age)
    print(json.dumps(results, indent=2))
    _report(results, args.batch_age)


def _both(credentials: int, singles: int, batch_age: float) -> dict[str, dict[str, Any]]:
    """Both deployments' results, one after the other, in a database made for the run."""
    common = {"CREDLEDGER_BATCH_AGE_SECONDS": str(batch_age)}
    results = {}
    with run_database("bench") as database, tempfile.TemporaryDirectory() as tmp:
        scale_out = {**common, **scale_out_environment(database)}
        work = Path(tmp)
        for name, env, workers in (("scale-out", scale_out, 2), ("embedded", common, 1)):
            deployment = Deployment(name, env, workers, work)
            try:
                results[name] = _run(deployment, credentials, singles)
            finally:
                deployment.stop()
    return results


def _report(results: dict[str, dict[str, Any]], batch_age: float) -> None:
    print(
        f"{'':10} {'bulk/s':>7} {'p50 s':>6} {'p99 s':>6} | {'single/s':>8}"
        f" {'request':>8} {'p50 s':>6} {'p99 s':>6}"
    )
    for name, r in results.items():
        print(
            f"{name:10} {r['bulk_rate']:7.0f} {r['p50']:6.2f} {r['p99']:6.2f} |"
            f" {r['single_rate']:8.0f} {r['single_request_p50'] * 1000:6.0f}ms"
            f" {r['single_p50']:6.2f} {r['single_p99']:6.2f}"
        )
    for name, r in results.items():
        print(f"{name}, CPU during the bulk phase:")
        for part, use in r["bulk_cpu"].items():
            cores, each = use["cores"], use["ms_each"]
            print(f"  {part:28} {cores:5.2f} cores {each:6.2f} ms a credential")
        total = sum(use["cores"] for use in r["bulk_cpu"].values())
        print(f"  {'total':28} {total:5.2f} cores of {os.cpu_count()}")
    ratio = results["scale-out"]["bulk_rate"] / results["embedded"]["bulk_rate"]
    print(f"bulk rate, scale-out / embedded: {ratio:.2f}x; p99 target: < {batch_age + 5} s")


if __name__ == "__main__":
    main()
