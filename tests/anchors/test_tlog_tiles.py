"""C2SP tlog-tiles: tile paths, entry bundles, and hash tiles cut from the log's stored hashes
that agree with the RFC 6962 tree at every level."""

from __future__ import annotations

import random

import pytest

from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from anchors.merkle import leaf_hash, reference_root
from anchors.tile_reader import TileReader
from anchors.tlog_tiles import (
    MAX_ENTRY_BYTES,
    FullTiles,
    Tile,
    TileNotFound,
    entries_of,
    entry_bundle,
    parse,
    read_tile,
)


@pytest.mark.parametrize(
    ("path", "tile"),
    [
        ("tile/0/000", Tile(0, 0)),
        ("tile/0/x001/x234/067", Tile(0, 1_234_067)),
        ("tile/2/001.p/7", Tile(2, 1, 7)),
        ("tile/entries/x002/255.p/255", Tile(None, 2255, 255)),
    ],
)
def test_a_tile_path_names_one_tile_and_is_its_only_name(path: str, tile: Tile) -> None:
    assert parse(path) == tile
    assert tile.path() == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/67",  # not groups of three
        "tile/0/x000/067",  # a leading zero group
        "tile/0/000.p/256",  # a partial tile as wide as a full one
        "tile/0/000.p/0",
        "tile/0/000.p/012",
        "tile/00/000",
        "tile/64/000",  # no level above 63
        "tile/data/000",
        "tile/0/000/",
    ],
)
def test_anything_but_a_canonical_tile_path_is_not_found(path: str) -> None:
    with pytest.raises(TileNotFound):
        parse(path)


def test_an_entry_bundle_reads_back_entry_by_entry() -> None:
    entries = [b"", b"a", bytes(range(256)) * 3, b"x" * MAX_ENTRY_BYTES]
    bundle = entry_bundle(entries)
    assert bundle[:2] == b"\x00\x00" and bundle[2:5] == b"\x00\x01a"
    assert entries_of(bundle) == entries


def test_an_entry_too_long_for_a_uint16_length_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        entry_bundle([b"x" * (MAX_ENTRY_BYTES + 1)])


def test_a_cut_bundle_is_refused() -> None:
    with pytest.raises(ValueError, match="ends inside"):
        entries_of(entry_bundle([b"abc"])[:-1])


def grown(log: TransparencyLog, count: int) -> list[bytes]:
    rng = random.Random(count)
    entries = [rng.randbytes(rng.randrange(1, 120)) for _ in range(count)]
    for start in range(0, count, 97):
        batch = entries[start : start + 97]
        log.append(batch, list(range(start + 1, start + len(batch) + 1)))
    return entries


def test_level_0_tiles_hold_the_leaf_hashes_and_entry_bundles_the_entries(
    log: TransparencyLog,
) -> None:
    entries = grown(log, 600)
    assert read_tile(log, Tile(0, 1), 600) == b"".join(leaf_hash(e) for e in entries[256:512])
    assert read_tile(log, Tile(0, 2, 88), 600) == b"".join(leaf_hash(e) for e in entries[512:])
    assert entries_of(read_tile(log, Tile(None, 2, 88), 600)) == entries[512:]


def test_a_level_1_hash_is_the_root_of_its_256_leaves(log: TransparencyLog) -> None:
    entries = grown(log, 600)
    level_1 = read_tile(log, Tile(1, 0, 2), 600)
    leaves = [leaf_hash(e) for e in entries]
    assert level_1 == reference_root(leaves[:256]) + reference_root(leaves[256:512])


def test_a_tile_the_checkpoint_does_not_cover_is_not_found(log: TransparencyLog) -> None:
    grown(log, 600)
    for beyond in (Tile(0, 2), Tile(0, 2, 89), Tile(1, 0, 3), Tile(None, 3, 1)):
        with pytest.raises(TileNotFound):
            read_tile(log, beyond, 600)
    # The log holds 600 entries, the published checkpoint 500: tiles stop at 500.
    with pytest.raises(TileNotFound):
        read_tile(log, Tile(0, 1, 245), 500)
    assert len(read_tile(log, Tile(0, 1, 244), 500)) == 244 * 32


@pytest.mark.parametrize("size", [1, 255, 256, 257, 600, 70_000])
def test_a_reader_of_the_tiles_alone_gives_the_logs_root_and_proofs(size: int) -> None:
    log = TransparencyLog(MemoryLogStore())
    rng = random.Random(size)
    log.append([rng.randbytes(20) for _ in range(size)], list(range(1, size + 1)))
    fetched: list[str] = []

    def fetch(path: str) -> bytes:
        fetched.append(path)
        return read_tile(log, parse(path), size)

    reader = TileReader(fetch, size)
    assert reader.root() == log.root(size)
    for index in {0, size // 3, size - 1}:
        assert reader.inclusion_proof(index) == list(log.inclusion_proof(index, size).hashes)
        assert leaf_hash(reader.entry(index)) == log.leaf_hash(index)
    for old in {1, size // 2, size - 1} - {0}:
        assert reader.consistency_proof(old) == list(log.consistency_proof(old, size).hashes)
    assert len(fetched) == len(set(fetched))  # each tile fetched once


def test_a_mirror_serving_a_wrong_tile_gives_another_root() -> None:
    log = TransparencyLog(MemoryLogStore())
    log.append([b"%d" % i for i in range(300)], list(range(1, 301)))

    def tampered(path: str) -> bytes:
        data = read_tile(log, parse(path), 300)
        return data[:-1] + bytes([data[-1] ^ 1]) if path.startswith("tile/0/001") else data

    assert TileReader(tampered, 300).root() != log.root(300)


class CountingStore(MemoryLogStore):
    """A memory store that counts the hash reads it answers."""

    reads = 0

    def hashes(self, level: int, first: int, count: int) -> bytes:
        CountingStore.reads += 1
        return super().hashes(level, first, count)


def test_a_full_tile_is_read_from_the_store_once_and_a_partial_one_each_time() -> None:
    log = TransparencyLog(CountingStore())
    log.append([b"%d" % i for i in range(300)], list(range(1, 301)))
    cache = FullTiles()
    CountingStore.reads = 0
    assert cache.read(log, Tile(0, 0), 300) == cache.read(log, Tile(0, 0), 300)
    assert CountingStore.reads == 1
    cache.read(log, Tile(0, 1, 44), 300)
    cache.read(log, Tile(0, 1, 44), 300)
    assert CountingStore.reads == 3


def test_the_least_recently_used_full_tile_goes_first_when_memory_is_full() -> None:
    log = TransparencyLog(CountingStore())
    log.append([b"%d" % i for i in range(3 * 256)], list(range(1, 3 * 256 + 1)))
    cache = FullTiles(max_bytes=2 * 256 * 32)  # two hash tiles
    for index in (0, 1, 0, 2):  # 1 is then the least recently used
        cache.read(log, Tile(0, index), 3 * 256)
    CountingStore.reads = 0
    cache.read(log, Tile(0, 0), 3 * 256)
    cache.read(log, Tile(0, 2), 3 * 256)
    assert CountingStore.reads == 0
    cache.read(log, Tile(0, 1), 3 * 256)
    assert CountingStore.reads == 1
