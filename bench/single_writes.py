"""Single writes: sequential one-credential issue requests against ``credledger serve``, with
the CPU each of its processes spends a request; optionally side by side with another checkout
of credledger (an earlier commit, in a ``git worktree``), alternating, as a ratio.

Each run registers an issuer in a fresh data directory and signs the requests (with the code
of the checkout it measures), starts ``serve`` on it, waits until the consumers' process has
logged the start-up write and a few seconds more (so that no process is still starting), then
sends the requests one after another on one keep-alive connection, and reads every process's
CPU time from ``/proc`` before and after.

    .venv/bin/python bench/single_writes.py [--requests 1500] [--pairs 3] [--against PATH]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from serve_process import free_port

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One run's rate, latencies and CPU a request of each process (by its role)."""

    rate: float
    latencies: list[float]
    cpu: dict[str, float]

    def line(self, label: str) -> str:
        lat = sorted(self.latencies)
        cpu = ", ".join(f"{role} {ms:.2f}" for role, ms in self.cpu.items())
        return (
            f"{label:>8}: {self.rate:5.0f} requests/s, p50 {statistics.median(lat) * 1000:.2f} ms,"
            f" p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.2f} ms; CPU ms a request: {cpu}"
        )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _role(pid: int) -> str:
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    for role in ("read-model", "consumers", "anvil", "spawn_main"):
        if role in command:
            return "hashing" if role == "spawn_main" else role
    return "serving" if "serve" in command else "other"


def _processes(root: int) -> list[int]:
    """``root`` and its descendants."""
    found, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found += [int(child) for child in children]
            frontier += [int(child) for child in children]
    return found


def _cpu_by_role(root: int) -> dict[str, float]:
    totals: dict[str, float] = {}
    for pid in _processes(root):
        try:
            role, seconds = _role(pid), _cpu_seconds(pid)
        except OSError:
            continue
        totals[role] = totals.get(role, 0.0) + seconds
    totals["client"] = time.process_time()
    return totals


def prepare(data_dir: Path, requests: int) -> list[dict[str, Any]]:
    """A store with a registered issuer in ``data_dir``, and the requests' signed bodies (run
    with the measured checkout's code on the path)."""
    from ledger.application.storage import open_storage
    from ledger.client import CommandSigner
    from ledger.domain import samples
    from ledger.domain.commands import IssuerRegistration
    from ledger.domain.signing import IssuerKey
    from ledger.settings import Settings, create_secrets

    create_secrets(data_dir)
    key = IssuerKey.generate()
    storage = open_storage(Settings(data_dir=data_dir))
    try:
        registration = IssuerRegistration(**samples.issuer_registration(key.address))
        issuer = storage.ledger.register_issuer(registration)
    finally:
        storage.close()
    signer = CommandSigner(key, str(issuer.id))
    content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
    return [
        signer.issue(content, {"identifier": f"s{i:07}", "full_name": f"Learner {i}"})
        for i in range(requests)
    ]


def run(requests: int, settle: float, source: Path | None) -> Run:
    """One run against ``serve`` from ``source`` (a checkout; None: this one)."""
    with tempfile.TemporaryDirectory(prefix="credledger-single-") as scratch:
        data_dir, bodies_file = Path(scratch) / "data", Path(scratch) / "bodies.json"
        env = dict(os.environ)
        if source is not None:
            from anchors.anvil import find_anvil

            # Its modules first (``serve`` runs in it); this checkout's Anvil node.
            env["PYTHONPATH"] = str(source)
            env["CREDLEDGER_ANVIL_PATH"] = str(find_anvil())
        subprocess.run(
            [sys.executable, __file__, "--prepare", str(data_dir), "--requests", str(requests)],
            env=env,
            stdout=bodies_file.open("wb"),
            check=True,
        )
        encoded = [json.dumps(body) for body in json.loads(bodies_file.read_bytes())]
        port = free_port()
        serve = ["serve", "--data-dir", str(data_dir), "--port", str(port)]
        server = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", *serve],
            cwd=source,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as probe:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if probe.get("/log/state").json()["size"] >= 1:
                            break
                    except (httpx.TransportError, ValueError, KeyError):
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("credledger serve did not start")
                    time.sleep(0.1)
            time.sleep(settle)
            connection = http.client.HTTPConnection("127.0.0.1", port)
            headers = {"content-type": "application/json"}
            latencies: list[float] = []
            before = _cpu_by_role(server.pid)
            started = time.perf_counter()
            for body in encoded:
                sent = time.perf_counter()
                connection.request("POST", "/credentials", body, headers)
                response = connection.getresponse()
                answer = response.read()
                latencies.append(time.perf_counter() - sent)
                if response.status != 201:
                    raise RuntimeError(f"answered {response.status}: {answer[:200]!r}")
            elapsed = time.perf_counter() - started
            after = _cpu_by_role(server.pid)
            connection.close()
        finally:
            server.terminate()
            server.wait(timeout=60)
    cpu: dict[str, float] = {
        role: (after[role] - before.get(role, 0.0)) / requests * 1000
        for role in ("serving", "read-model", "consumers", "client")
        if role in after
    }
    return Run(requests / elapsed, latencies, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--pairs", type=int, default=3, help="runs of each side, alternating")
    parser.add_argument("--settle", type=float, default=6.0, help="seconds to wait once ready")
    parser.add_argument(
        "--against", type=Path, help="another checkout of credledger, run alternately"
    )
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare is not None:
        sys.stdout.write(json.dumps(prepare(args.prepare, args.requests)))
        return
    ratios = []
    for pair in range(args.pairs):
        this = run(args.requests, args.settle, None)
        print(this.line("this"), flush=True)
        if args.against is not None:
            other = run(args.requests, args.settle, args.against.resolve())
            print(other.line("against"), flush=True)
            ratios.append(this.rate / other.rate)
            print(f"   pair {pair + 1}: this / against {ratios[-1]:.2f}x", flush=True)
    if ratios:
        print(f"median of {len(ratios)} pairs: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
