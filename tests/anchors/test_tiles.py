"""Tiles place every subtree hash exactly once, and read back what was written."""

from __future__ import annotations

import hashlib

import pytest

from anchors import tiles
from anchors.merkle import node_hash


def test_every_node_of_a_big_tree_has_its_own_slot() -> None:
    seen: set[tuple[int, int]] = set()
    for level in range(20):
        for index in range(min(1 << (20 - level), 700)):
            key, offset = tiles.locate((level, index))
            assert 0 <= offset < tiles.TILE_BYTES
            assert (key, offset) not in seen
            seen.add((key, offset))


def test_merge_then_read_round_trips_and_refuses_missing_nodes() -> None:
    nodes = {(0, i): hashlib.sha256(i.to_bytes(2, "big")).digest() for i in range(300)}
    nodes[(1, 0)] = node_hash(nodes[(0, 0)], nodes[(0, 1)])
    runs = {0: (0, [nodes[(0, i)] for i in range(300)]), 1: (0, [nodes[(1, 0)]])}
    stored = tiles.merge(lambda keys: {}, runs)
    assert len(stored) == 2  # leaves 0-255 and 256-299 are in two tiles
    wanted = tiles.by_tile(nodes)
    assert tiles.read(stored, wanted) == nodes
    with pytest.raises(KeyError):
        tiles.read(stored, tiles.by_tile([(1, 1)]))


def test_a_run_of_one_level_is_cut_from_the_tiles_it_spans_and_gaps_are_refused() -> None:
    hashes = [hashlib.sha256(i.to_bytes(2, "big")).digest() for i in range(600)]
    stored = tiles.merge(lambda keys: {}, {0: (0, hashes)})
    where = tiles.slices(0, 200, 300)
    assert [take for _, _, take in where] == [56, 244]  # leaves 200-255, then 256-499
    assert tiles.cut(stored, 0, 200, where) == b"".join(hashes[200:500])
    with pytest.raises(KeyError, match=r"\(0, 600\)"):
        tiles.cut(stored, 0, 590, tiles.slices(0, 590, 20))
