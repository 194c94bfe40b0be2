"""Static tiles vs Trillian Tessera: entries integrated per second into C2SP tiles on disk.

In one run, on the same entries (random bytes of a credential envelope's size, 900 bytes), for
10^5 and 10^6 entries:

- **credledger**: its log on SQLite (durable), appended through ``TransparencyLog.append`` in
  batches of 4,096 as the log consumer does, a checkpoint signed after each batch, and the
  static export (``TileExport``, what ``credledger tiles export --follow`` runs) writing that
  checkpoint's tiles and entry bundles to disk (each file fsynced and renamed into place);
- **Tessera** 1.0.4 on its POSIX storage, through the library (``bench/tessera``, a small Go
  program: ``posix.New``, ``tessera.NewAppender`` with batches of 4,096 and 4,096 goroutines
  adding at once; an index is answered once its batch is in the tiles on disk).

Both start from an empty directory, read their entries before the clock starts and count until
the last entry is in the tiles. The Go program is built on first use into ``.deploy/``.

    .venv/bin/python bench/tiles.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import NoteSigner
from anchors.log import TransparencyLog
from anchors.sqlite import SQLiteLogStore
from anchors.tile_export import TileExport

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


def credledger_rate(entries: list[bytes], directory: Path) -> float:
    log = TransparencyLog(SQLiteLogStore(directory / "log.sqlite", durable=True))
    signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    export = TileExport(log, directory / "tiles")
    started = time.perf_counter()
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        log.append(batch, list(range(start + 1, start + len(batch) + 1)))
        log.sign_checkpoint(signer, ORIGIN)
        export.step()
    seconds = time.perf_counter() - started
    assert export.exported_size() == len(entries)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
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


if __name__ == "__main__":
    main()
