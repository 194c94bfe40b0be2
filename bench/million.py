"""The moonshot, as a benchmark: a million credentials issued, documented, anchored and audited
on the embedded default (SQLite, the ledger's own Anvil node), on this machine; or, with
``--deployment scale-out``, on PostgreSQL, Apache Kafka and Anvil from deploy/ with one API
worker, as ``serve`` runs by default, or as many as ``--workers`` says (the services started,
and stopped again, as bench/e2e.py does).

Before the clock: the issuer signs every command (its cost, not the ledger's), in processes of
its own, spooled to disk as bulk bodies of 100. Then, each phase timed on the wall clock:

1. **issue**: every bulk body sent to ``credledger serve`` by 8 keep-alive clients; signatures,
   content rules and commitments checked, events stored (the sustained rate);
2. **anchor**: until every credential's document is in a recorded anchor (``GET /log/anchors``,
   polled every 0.2 s); the issue-to-anchored latency of each credential is from its request's
   answer to the poll that first sees it anchored (median and p99);
3. **read model**: until the read model's position reaches the store's;
4. **audit**: ``credledger audit --data-dir … --rpc <the ledger's Anvil>`` over the whole history;
   it must be clean.

Reported: wall time and rate per phase; for each quarter of the issuing, the CPU and the disk
writes a credential of each part of the deployment (how their costs grow as the stores do);
the peak private memory (RssAnon, sampled) of every process of the deployment and of the audit,
and their peak resident memory (VmHWM, which also counts the store pages they read through a
memory map: the system's file cache), and, scale-out, the peak resident memory of PostgreSQL
and the broker since they started; and the disk bytes per credential of every store: SQLite
files, or PostgreSQL tables and the run's Kafka topic.

    .venv/bin/python bench/million.py [--credentials 1000000] [--clients 8] [--batch-age 2]
        [--deployment embedded|scale-out] [--keep DIR] [--warm-up N]

``--warm-up N``: a whole run of N credentials first, through the same services (scale-out: the
same PostgreSQL, broker and Anvil, in a database and topic of its own), not reported. A broker
started for the run spends its first minute of load compiling its hot code (its JVM's JIT
compilers took over a third of the broker's CPU in a 100,000 run); a deployment in service has
done that long before.

``--keep DIR`` (embedded): the store is linked (or copied) into DIR once the deployment has
stopped, to audit again later with ``credledger audit --data-dir DIR`` (without ``--rpc``: the
run's chain is gone with it).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import itertools
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from e2e import (
    PG_PORT,
    ROOT,
    CpuMeter,
    Deployment,
    proc_number,
    process_table,
    run_database,
    scale_out_environment,
    services,
)

from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.settings import read_secrets

BULK = 100
JSON = {"content-type": "application/json"}
AUDIT = [sys.executable, "-m", "ledger.cli", "audit"]


def _sign_share(key_hex: str, issuer_id: str, issued: str, first: int, count: int) -> bytes:
    """Bulk bodies for credentials ``first`` .. ``first + count``, one JSON line each."""
    signer = CommandSigner(IssuerKey.from_hex(key_hex), issuer_id)
    content = samples.credential_content(datetime.fromisoformat(issued))
    lines = []
    for start in range(first, first + count, BULK):
        items = [
            signer.issue(content, {"identifier": f"m-{i:07d}", "full_name": "Zoë Ångström"})
            for i in range(start, min(start + BULK, first + count))
        ]
        lines.append(json.dumps({"items": items}, ensure_ascii=False).encode() + b"\n")
    return b"".join(lines)


def spool(path: Path, key: IssuerKey, issuer_id: str, credentials: int) -> float:
    """Sign every command into ``path`` (bulk bodies, a line each); seconds it took."""
    started = time.monotonic()
    issued = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    share = 10_000
    jobs = [
        (key.secret_hex(), issuer_id, issued, first, min(share, credentials - first))
        for first in range(0, credentials, share)
    ]
    with path.open("wb") as out, multiprocessing.Pool(os.cpu_count() or 1) as pool:
        for lines in pool.starmap(_sign_share, jobs):
            out.write(lines)
    return time.monotonic() - started


def _descendants(root: int) -> list[int]:
    table = process_table()
    found = [root]
    for pid, (parent, *_rest) in sorted(table.items()):
        if parent in found and pid not in found:
            found.append(pid)
    return found


def memory_now(root: int) -> dict[str, tuple[int, int]]:
    """(private resident bytes, peak resident bytes) of ``root`` and every process under it, by
    command. Private is RssAnon: what the process itself holds. The peak resident (VmHWM) also
    counts the pages of the stores the process reads through a memory map, which are the
    operating system's file cache, shared and given back under pressure."""
    found: dict[str, tuple[int, int]] = {}
    for pid in _descendants(root):
        private = proc_number(pid, "status", "RssAnon")
        resident = proc_number(pid, "status", "VmHWM")
        if private is None or resident is None:
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        name = " ".join(c.decode(errors="replace") for c in command[:4] if c)[-70:]
        found[f"{pid} {name}"] = (private * 1024, resident * 1024)
    return found


class PeakSampler:
    """The peak private memory of a process and of each it starts, read every half second
    while it runs (the kernel keeps no peak of private memory alone), and each one's last
    peak resident memory. (The rusage of a child forked from this process would also count
    this process's own memory at the fork, which holds the whole run's latencies.)"""

    def __init__(self, root: int) -> None:
        self.private: dict[str, int] = {}
        self.resident: dict[str, int] = {}
        self._root = root
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for name, (private, resident) in memory_now(self._root).items():
                self.private[name] = max(private, self.private.get(name, 0))
                self.resident[name] = max(resident, self.resident.get(name, 0))

    def stop(self) -> dict[str, dict[str, int]]:
        """{"private": peak private bytes by process, "resident_with_mapped_stores": peak
        resident bytes by process}."""
        self._stop.set()
        self._thread.join()
        return {"private": self.private, "resident_with_mapped_stores": self.resident}


def store_bytes(data_dir: Path) -> dict[str, int]:
    """Bytes on disk of every SQLite store (a database with its WAL counted together)."""
    sizes: dict[str, int] = {}
    for path in sorted(data_dir.rglob("*.sqlite*")):
        if path.is_file():
            name = str(path.relative_to(data_dir)).removesuffix("-wal").removesuffix("-shm")
            sizes[name] = sizes.get(name, 0) + path.stat().st_size
    return sizes


def service_memory() -> dict[str, int]:
    """Peak resident memory (bytes) of the PostgreSQL and Kafka processes, by command."""
    peaks: dict[str, int] = {}
    for pid, (_, command, _, _) in process_table().items():
        if "postgres" not in command and "kafka.Kafka" not in command:
            continue
        peak = proc_number(pid, "status", "VmHWM")
        if peak is not None:
            peaks[f"{pid} {command[:60]}"] = peak * 1024
    return peaks


def postgres_bytes(database: str) -> dict[str, int]:
    """Bytes of every table of ``database`` (with its indexes and TOAST)."""
    query = (
        "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE relkind = 'r' AND nspname = 'public'"
    )
    psql = ["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", database]
    out = subprocess.run([*psql, "-AtF", "\t", "-c", query], check=True, capture_output=True)
    sizes = {}
    for line in out.stdout.decode().splitlines():
        name, size = line.split("\t")
        sizes[f"postgres {name}"] = int(size)
    return sizes


def topic_bytes(topic: str) -> dict[str, int]:
    """Bytes of the topic's partitions in the broker's log directory."""
    data = ROOT / ".deploy" / "kafka" / "data"
    total = sum(
        f.stat().st_size for d in data.glob(f"{topic}-*") for f in d.rglob("*") if f.is_file()
    )
    return {f"kafka topic {topic}": total}


def issue_all(
    url: str, bodies: Path, clients: int, answered: dict[str, float]
) -> tuple[float, int]:
    """Seconds to send every bulk body, and how many times the intake was paused (each paused
    request sent again after its Retry-After); each credential's answer time goes into
    ``answered``."""
    host, port = url.removeprefix("http://").split(":")
    lines = bodies.open("rb")
    lock = threading.Lock()
    paused = [0]

    def client() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=600)
        while True:
            with lock:
                body = lines.readline()
            if not body:
                break
            while True:
                connection.request("POST", "/credentials/bulk", body, JSON)
                response = connection.getresponse()
                answer = json.loads(response.read())
                if response.status != 503 or answer.get("code") != "intake-paused":
                    break
                with lock:
                    paused[0] += 1
                time.sleep(float(response.getheader("Retry-After", "1")))
            at = time.monotonic()
            if response.status != 200 or answer["failed"]:
                raise SystemExit(f"a bulk request failed: {response.status} {str(answer)[:300]}")
            for result in answer["results"]:
                answered[result["result"]["credential_id"]] = at
        connection.close()

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for done in [pool.submit(client) for _ in range(clients)]:
            done.result()
    lines.close()
    return time.monotonic() - started, paused[0]


class Quarters:
    """Each part's CPU seconds and bytes written to disk, read as each quarter of the
    credentials is answered: what a credential costs each part as the stores grow."""

    def __init__(self, serving_pid: int, credentials: int, answered: dict[str, float]) -> None:
        self._meter = CpuMeter(serving_pid)
        self._marks = [credentials * q // 4 for q in range(1, 5)]
        self._answered = answered
        self.readings = [self._reading(0)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _reading(self, count: int) -> tuple[int, dict[str, float], dict[str, float]]:
        return count, self._meter.read(), self._meter.written()

    def _watch(self) -> None:
        while self._marks and not self._stop.wait(0.25):
            count = len(self._answered)
            if count >= self._marks[0]:
                while self._marks and count >= self._marks[0]:
                    self._marks.pop(0)
                self.readings.append(self._reading(count))

    def stop(self) -> list[dict[str, Any]]:
        """Per quarter: credentials answered, and each part's CPU ms and disk KB a credential."""
        self._stop.set()
        self._thread.join()
        if self.readings[-1][0] < len(self._answered):
            self.readings.append(self._reading(len(self._answered)))
        quarters = []
        for (n0, cpu0, disk0), (n1, cpu1, disk1) in itertools.pairwise(self.readings):
            count = n1 - n0
            quarters.append(
                {
                    "answered": [n0, n1],
                    "cpu_ms": {k: (v - cpu0.get(k, 0.0)) * 1000 / count for k, v in cpu1.items()},
                    "disk_kb": {k: (v - disk0.get(k, 0)) / 1024 / count for k, v in disk1.items()},
                }
            )
        return quarters


class AnchorWatch:
    """When each credential's document is first seen in a recorded anchor."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.anchored: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        seen = 0
        with httpx.Client(base_url=self.url, timeout=60) as http:
            while not self._stop.is_set():
                page = http.get("/log/anchors", params={"after_size": seen, "limit": 500}).json()
                now = time.monotonic()
                for anchor in page["items"]:
                    for document in anchor.get("documents", []):
                        self.anchored.setdefault(document["credential_id"], now)
                    seen = max(seen, anchor["checkpoint_size"])
                if not page["items"]:
                    self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def run(
    credentials: int,
    clients: int,
    batch_age: float,
    work: Path,
    scale_out: dict[str, str] | None = None,
    keep: Path | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    env = {"CREDLEDGER_BATCH_AGE_SECONDS": str(batch_age), **(scale_out or {})}
    name = "scale-out" if scale_out else "embedded"
    deployment = Deployment(name, env, workers, work)
    try:
        token = read_secrets(deployment.data_dir)["admin_token"]
        key = IssuerKey.generate()
        with LedgerClient(deployment.url, admin_token=token) as admin:
            issuer_id = admin.register_issuer(samples.issuer_registration(key.address))["issuer_id"]
        bodies = work / "bodies.jsonl"
        print(f"signing {credentials} commands (not timed) ...", file=sys.stderr, flush=True)
        signing = spool(bodies, key, issuer_id, credentials)
        print("issuing ...", file=sys.stderr, flush=True)
        watch = AnchorWatch(deployment.url)
        answered: dict[str, float] = {}
        quarters = Quarters(deployment.process.pid, credentials, answered)
        serving_memory = PeakSampler(deployment.process.pid)
        started = time.monotonic()
        issue_seconds, paused = issue_all(deployment.url, bodies, clients, answered)
        by_quarter = quarters.stop()
        while len(watch.anchored) < len(answered):
            time.sleep(0.2)
        anchored_at = time.monotonic()
        watch.stop()
        with httpx.Client(base_url=deployment.url, timeout=60) as http:
            while True:
                health = http.get("/health").json()
                if health["read_model_position"] >= health["log_size"]:
                    break
                time.sleep(0.2)
            rpc = http.get("/log/chain").json()["local_rpc_url"] or env["CREDLEDGER_CHAIN_RPC_URL"]
        current_at = time.monotonic()
        latencies = sorted(watch.anchored[c] - answered[c] for c in answered)
        memory = serving_memory.stop()
        if scale_out:
            memory["services_peak_resident"] = service_memory()
        print("auditing ...", file=sys.stderr, flush=True)
        audit = subprocess.Popen(
            [*AUDIT, "--data-dir", str(deployment.data_dir), "--rpc", rpc, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env},
        )
        audit_started = time.monotonic()
        sampler = PeakSampler(audit.pid)
        output = audit.stdout.read() if audit.stdout else b""
        audit_memory = sampler.stop()
        audit.wait()
        audit_seconds = time.monotonic() - audit_started
        report = json.loads(output)
        if audit.returncode != 0:
            raise SystemExit(f"the audit was not clean: {json.dumps(report)[:500]}")
        disk = store_bytes(deployment.data_dir)
        if scale_out:
            database = scale_out["CREDLEDGER_POSTGRES_DBNAME"]
            disk.update(postgres_bytes(database))
            disk.update(topic_bytes(scale_out["CREDLEDGER_KAFKA_TOPIC"]))
    finally:
        deployment.stop()
    if keep is not None:
        keep_store(deployment.data_dir, keep)
    return {
        "deployment": name,
        "api_workers": workers,
        "credentials": credentials,
        "signing_seconds_not_timed": signing,
        "issue": {
            "seconds": issue_seconds,
            "rate": credentials / issue_seconds,
            "intake_paused": paused,
        },
        "anchored": {
            "seconds_after_start": anchored_at - started,
            "latency_p50": statistics.median(latencies),
            "latency_p99": latencies[int(len(latencies) * 0.99) - 1],
        },
        "read_model_current_after_start": current_at - started,
        "audit": {
            "seconds": audit_seconds,
            "entries_per_second": report["entries"] / audit_seconds,
            "peak_memory": audit_memory,
            "report": report,
        },
        "total_seconds": current_at - started + audit_seconds,
        "by_quarter": by_quarter,
        "peak_memory": memory,
        "disk_bytes_per_credential": {name: size / credentials for name, size in disk.items()},
    }


def keep_store(data_dir: Path, target: Path) -> None:
    """The stopped deployment's files in ``target``: hard links where the file system allows."""

    def link_or_copy(source: str, destination: str) -> None:
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)

    shutil.copytree(data_dir, target, copy_function=link_or_copy)


def run_scale_out(
    credentials: int, clients: int, batch_age: float, work: Path, warm_up: int, workers: int
) -> dict[str, Any]:
    """The run on the scale-out deployment with ``workers`` API workers, in a database and
    topic made for it (dropped); ``warm_up`` credentials first through the same services, in a
    database and topic of their own, not reported."""
    with services(("postgres", "kafka", "anvil"), work / "chain"):
        if warm_up:
            with run_database("million") as database:
                environment = scale_out_environment(database)
                warm_run(warm_up, clients, batch_age, work, environment, workers)
        with run_database("million") as database:
            environment = scale_out_environment(database)
            return run(credentials, clients, batch_age, work, environment, workers=workers)


def warm_run(
    credentials: int,
    clients: int,
    batch_age: float,
    work: Path,
    scale_out: dict[str, str] | None = None,
    workers: int = 1,
) -> None:
    """A whole run whose figures are not kept: the Kafka broker's JVM compiles its hot code
    in its first minute of load (a long-running broker has done so), and the operating
    system's caches fill."""
    print(f"warming up with {credentials} credentials (not reported) ...", file=sys.stderr)
    warm = work / "warm-up"
    warm.mkdir()
    run(credentials, clients, batch_age, warm, scale_out, workers=workers)
    shutil.rmtree(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch-age", type=float, default=2.0)
    parser.add_argument("--deployment", choices=["embedded", "scale-out"], default="embedded")
    parser.add_argument("--keep", type=Path, help="embedded: keep the store in this new directory")
    parser.add_argument(
        "--workers", type=int, help="scale-out: API worker processes (default 1, as serve)"
    )
    parser.add_argument(
        "--warm-up",
        type=int,
        default=0,
        help="first run this many credentials through the same deployment, not reported",
    )
    args = parser.parse_args()
    if args.keep is not None and (args.deployment != "embedded" or args.keep.exists()):
        parser.error("--keep needs the embedded deployment and a directory that does not exist")
    if args.workers is not None and (args.deployment != "scale-out" or args.workers < 1):
        parser.error("--workers needs the scale-out deployment and at least one worker")
    with tempfile.TemporaryDirectory() as tmp:
        if args.deployment == "embedded":
            if args.warm_up:
                warm_run(args.warm_up, args.clients, args.batch_age, Path(tmp))
            result = run(args.credentials, args.clients, args.batch_age, Path(tmp), keep=args.keep)
        else:
            result = run_scale_out(
                args.credentials,
                args.clients,
                args.batch_age,
                Path(tmp),
                args.warm_up,
                args.workers or 1,
            )
    print(json.dumps(result, indent=2))
    issue, anchored, audit = result["issue"], result["anchored"], result["audit"]
    print(
        f"{result['deployment']}, {result['credentials']} credentials: "
        f"issued in {issue['seconds']:.0f} s "
        f"({issue['rate']:.0f} /s, intake paused {issue['intake_paused']} times), "
        f"all anchored {anchored['seconds_after_start']:.0f} s after "
        f"the start (issue-to-anchored p50 {anchored['latency_p50']:.1f} s, p99 "
        f"{anchored['latency_p99']:.1f} s), read model current at "
        f"{result['read_model_current_after_start']:.0f} s, audit {audit['seconds']:.0f} s "
        f"({audit['entries_per_second']:.0f} log entries/s); in all "
        f"{result['total_seconds']:.0f} s"
    )
    last = result["by_quarter"][-1]["cpu_ms"]
    parts = sorted((p for p in last if last[p] >= 0.01), key=lambda p: -last[p])
    print("a credential, by quarter of the issuing: CPU ms / KB written to disk")
    for quarter in result["by_quarter"]:
        first, last = quarter["answered"]
        cells = ", ".join(
            f"{part} {quarter['cpu_ms'].get(part, 0):.2f} / {quarter['disk_kb'].get(part, 0):.1f}"
            for part in parts
        )
        print(f"  {first:>9,}-{last:<9,} {cells}")
    serving, audit_memory = result["peak_memory"], result["audit"]["peak_memory"]
    for kind, words in (("private", "private"), ("resident_with_mapped_stores", "resident")):
        peak = max(serving[kind].values(), default=0)
        audit = audit_memory[kind]
        own = max((v for k, v in audit.items() if "ledger.cli audit" in k), default=0)
        others = sorted((v for k, v in audit.items() if "ledger.cli audit" not in k), reverse=True)
        helpers = f", its helpers' {', '.join(f'{v / 2**20:.0f}' for v in others)} MiB"
        print(
            f"peak {words} memory: largest process {peak / 2**20:.0f} MiB; the audit's process "
            f"{own / 2**20:.0f} MiB{helpers if others else ''}"
        )


if __name__ == "__main__":
    main()
