"""The static export: the directory holds exactly the tiles of the exported checkpoint, full
tiles are written once, and the checkpoint comes last."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import NoteSigner
from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from anchors.tile_export import TileExport, changed_tiles
from anchors.tlog_tiles import Tile, read_tile

SIGNER = NoteSigner("example.org/log", Ed25519PrivateKey.generate())


def grow(log: TransparencyLog, to: int) -> None:
    rng = random.Random(to)
    size = log.size()
    entries = [rng.randbytes(rng.randrange(1, 80)) for _ in range(to - size)]
    log.append(entries, list(range(size + 1, to + 1)))
    log.sign_checkpoint(SIGNER, "example.org/log")


def every_tile(size: int) -> set[Tile]:
    return set(changed_tiles(0, size))


@pytest.mark.parametrize(("old", "new"), [(0, 1), (1, 2), (255, 256), (256, 257), (300, 70_000)])
def test_the_changed_tiles_are_those_whose_bytes_differ_or_are_new(old: int, new: int) -> None:
    before = {(t.level, t.index): t.width for t in every_tile(old)}
    expected = {t for t in every_tile(new) if before.get((t.level, t.index)) != t.width}
    assert set(changed_tiles(old, new)) == expected


def test_every_tile_of_a_tree_is_covered_by_it_and_no_wider() -> None:
    for tile in every_tile(70_000):
        assert tile.covered_by(70_000)
        assert tile.full or not Tile(tile.level, tile.index, tile.width + 1).covered_by(70_000)


def test_an_export_holds_each_tile_of_the_checkpoint_as_the_log_serves_it(tmp_path: Path) -> None:
    log = TransparencyLog(MemoryLogStore())
    grow(log, 600)
    assert TileExport(log, tmp_path).step() == 600
    for tile in every_tile(600):
        assert (tmp_path / tile.path()).read_bytes() == read_tile(log, tile, 600)
    assert (tmp_path / "checkpoint").read_text() == log.store.latest_checkpoint()[1]  # type: ignore[index]
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_full_tile_is_written_once_and_a_partial_one_grows_beside_the_narrower(
    tmp_path: Path,
) -> None:
    log = TransparencyLog(MemoryLogStore())
    grow(log, 300)
    export = TileExport(log, tmp_path)
    export.step()
    full = tmp_path / "tile/0/000"
    written = full.stat().st_mtime_ns, full.stat().st_ino
    grow(log, 700)
    assert export.step() == 700
    assert (full.stat().st_mtime_ns, full.stat().st_ino) == written
    assert (tmp_path / "tile/0/001.p/44").is_file()  # for clients of the older checkpoint
    assert (tmp_path / "tile/0/002.p/188").read_bytes() == read_tile(log, Tile(0, 2, 188), 700)
    assert export.exported_size() == 700


def test_nothing_is_written_before_the_first_checkpoint(tmp_path: Path) -> None:
    log = TransparencyLog(MemoryLogStore())
    log.append([b"a"], [1])
    assert TileExport(log, tmp_path / "out").step() == 0
    assert not (tmp_path / "out").exists()


def test_following_exports_each_new_checkpoint_until_stopped(tmp_path: Path) -> None:
    log = TransparencyLog(MemoryLogStore())
    export = TileExport(log, tmp_path)
    stop = threading.Event()
    follower = threading.Thread(target=export.follow, args=(stop, 0.01))
    follower.start()
    try:
        for size in (10, 300, 301):
            grow(log, size)
            deadline = time.monotonic() + 10
            while export.exported_size() != size:
                assert time.monotonic() < deadline, f"checkpoint {size} not exported"
                time.sleep(0.01)
    finally:
        stop.set()
        follower.join(timeout=10)
    assert not follower.is_alive()
    assert (tmp_path / "tile/0/001.p/45").is_file()
