"""Static tiles vs Trillian Tessera: entries integrated per second into C2SP tiles on disk.

In one run, on the same entries (random bytes of a credential envelope's size, 900 bytes), for
10^5 and 10^6 entries:

- **credledger**: its log on SQLite (durable), appended through ``TransparencyLog.append`` in
  batches of 4,096 as the log consumer does, a checkpoint signed after each batch, and the
  static export in a process of its own, as ``credledger tiles export --follow`` runs beside
  the ledger (``TileExport`` polling for checkpoints, writing each one's tiles and entry bundles
  to disk, every file synced and renamed into place, the checkpoint last);
- **Tessera** 1.0.4 on its POSIX storage, through the library (``bench/tessera``, a small Go
  program: ``posix.New``, ``tessera.NewAppender`` with batches of 4,096 and 4,096 goroutines
  adding at once; an index is answered once its batch is in the tiles on disk).

Both start from an empty directory, read their entries before the clock starts and count until
the last entry is in the tiles. The Go program is built on first use into ``.deploy/``.

Then tiles served per second: ``credledger serve --no-consumers`` (the API alone, one worker,
pinned to one core) over a log of the largest size, answering GETs of random full hash tiles
and entry bundles over one keep-alive connection, then over eight.

    .venv/bin/python bench/tiles.py [--sizes 100000 1000000] [--requests 5000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import NoteSigner
from anchors.log import TransparencyLog
from anchors.sqlite import SQLiteLogStore
from anchors.tile_export import TileExport
from anchors.tlog_tiles import Tile
from ledger.settings import Settings, create_secrets

ROOT = Path(__file__).resolve().parents[1]
TESSERA = ROOT / ".deploy" / "tessera-bench"
BATCH = 4096
ORIGIN = "bench.credledger.example/log"


def build_tessera() -> None:
    go = {
        **os.environ,
        "GOMODCACHE": str(ROOT / ".deploy" / "go" / "mod"),
        "GOCACHE": str(ROOT / ".deploy" / "go" / "cache"),
        "GOFLAGS": "-modcacherw",
    }
    subprocess.run(
        ["go", "build", "-o", str(TESSERA), "."], cwd=ROOT / "bench" / "tessera", env=go, check=True
    )


def follow_export(store: Path, tiles: Path, size: int, ready: Any, finished: Any) -> None:
    """The static export's process: exports each checkpoint as it appears, until ``size``
    entries are out; puts the (monotonic, system-wide) time it got there."""
    export = TileExport(TransparencyLog(SQLiteLogStore(store)), tiles)
    ready.set()
    while export.step() < size:
        time.sleep(0.002)
    finished.put(time.monotonic())


def credledger_rate(entries: list[bytes], directory: Path) -> float:
    store = directory / "log.sqlite"
    log = TransparencyLog(SQLiteLogStore(store, durable=True))
    signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    spawn = multiprocessing.get_context("spawn")
    ready, finished = spawn.Event(), spawn.Queue()
    exporter = spawn.Process(
        target=follow_export, args=(store, directory / "tiles", len(entries), ready, finished)
    )
    exporter.start()
    ready.wait(60)
    started = time.monotonic()
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        log.append(batch, list(range(start + 1, start + len(batch) + 1)))
        log.sign_checkpoint(signer, ORIGIN)
    seconds: float = finished.get(timeout=600) - started
    exporter.join(60)
    assert TileExport(log, directory / "tiles").exported_size() == len(entries)
    log.store.close()
    return len(entries) / seconds


def tessera_rate(entries: list[bytes], directory: Path) -> float:
    source = directory / "entries.bin"
    with source.open("wb") as out:
        for entry in entries:
            out.write(struct.pack(">I", len(entry)) + entry)
    (directory / "log").mkdir()
    command = [str(TESSERA), "-dir", str(directory / "log"), "-entries", str(source)]
    done = subprocess.run(
        [*command, "-workers", str(BATCH), "-batch", str(BATCH)],
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(done.stdout)
    assert answer["entries"] == len(entries)
    return float(answer["per_second"])


def served_rate(entries: list[bytes], directory: Path, requests: int, connections: int) -> float:
    """Tiles a second from ``credledger serve`` over the log of ``entries``."""
    data = directory / "data"
    create_secrets(data)
    settings = Settings(data_dir=data)
    log = TransparencyLog(SQLiteLogStore(settings.log_db))
    origin = settings.log_origin_value()
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        log.append(batch, list(range(start + 1, start + len(batch) + 1)))
    log.sign_checkpoint(NoteSigner.from_seed(origin, settings.log_key_seed()), origin)
    log.store.close()
    port = _free_port()
    command = [sys.executable, "-m", "ledger.cli", "serve", "--no-consumers"]
    command += ["--data-dir", str(data), "--port", str(port)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    env = {**os.environ, "CREDLEDGER_CHAIN": "in-process"}
    quiet = subprocess.DEVNULL
    server = subprocess.Popen(command, env=env, stdout=quiet, stderr=quiet)
    try:
        _wait_for(port)
        full = len(entries) // 256
        rng = random.Random(len(entries))
        paths = [Tile(rng.choice([0, None]), rng.randrange(full)).path() for _ in range(requests)]
        shares = [paths[i::connections] for i in range(connections)]

        def get_all(share: list[str]) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port)
            for path in share:
                connection.request("GET", f"/tlog/{path}")
                answer = connection.getresponse()
                answer.read()
                assert answer.status == 200, path
            connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(connections) as pool:
            list(pool.map(get_all, shares))
        return requests / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("credledger serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=5_000)
    args = parser.parse_args()
    build_tessera()
    rng = random.Random(6962)
    print("entries   | credledger (SQLite + export) /s | Tessera POSIX /s | ratio")
    for size in args.sizes:
        entries = [rng.randbytes(900) for _ in range(size)]
        with tempfile.TemporaryDirectory(dir=ROOT / ".deploy") as ours:
            mine = credledger_rate(entries, Path(ours))
        with tempfile.TemporaryDirectory(dir=ROOT / ".deploy") as theirs:
            other = tessera_rate(entries, Path(theirs))
        print(f"{size:9} | {mine:31.0f} | {other:16.0f} | {mine / other:5.2f}")
    print()
    print("credledger serve, random full tiles and bundles | 1 connection | 8 connections")
    with tempfile.TemporaryDirectory(dir=ROOT / ".deploy") as served:
        one = served_rate(entries, Path(served) / "one", args.requests, 1)
        eight = served_rate(entries, Path(served) / "eight", args.requests, 8)
    print(f"{len(entries):9} entries{'':31} | {one:9.0f} /s | {eight:11.0f} /s")


if __name__ == "__main__":
    main()
