"""Packing subtree hashes into tiles: 8 levels of a 256-leaf subtree in one 16 KiB blob.

A store that writes one row per hash pays per row; tiles (after tlog-tiles) make a log of n
entries about n/255 rows of hashes. Tile (T, K) holds the nodes of levels 8T..8T+7 below the
level-8T nodes [256K, 256K + 256); inside it, each level's nodes follow the level below. A slot
of zero bytes is a node not yet complete.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from anchors.merkle import HASH_SIZE, Node

HEIGHT = 8
WIDTH = 1 << HEIGHT
_OFFSETS = [sum(WIDTH >> s for s in range(sub)) for sub in range(HEIGHT)]
SLOTS = sum(WIDTH >> s for s in range(HEIGHT))
TILE_BYTES = SLOTS * HASH_SIZE
_EMPTY = bytes(HASH_SIZE)


def locate(node: Node) -> tuple[int, int]:
    """(tile key, byte offset) of a node: the key is (tile level << 48) | tile index."""
    level, index = node
    tile_level, sub = divmod(level, HEIGHT)
    shift = HEIGHT - sub
    tile_index = index >> shift
    slot = _OFFSETS[sub] + index - (tile_index << shift)
    return (tile_level << 48) | tile_index, slot * HASH_SIZE


def by_tile(nodes: Iterable[Node]) -> dict[int, list[tuple[Node, int]]]:
    """The nodes grouped by the tile that holds them, with their offsets."""
    grouped: dict[int, list[tuple[Node, int]]] = defaultdict(list)
    for node in nodes:
        key, offset = locate(node)
        grouped[key].append((node, offset))
    return grouped


def read(tiles: dict[int, bytes], wanted: dict[int, list[tuple[Node, int]]]) -> dict[Node, bytes]:
    """The wanted nodes' hashes from fetched tiles; KeyError for any not stored."""
    found: dict[Node, bytes] = {}
    for key, nodes in wanted.items():
        data = tiles.get(key)
        for node, offset in nodes:
            value = data[offset : offset + HASH_SIZE] if data is not None else _EMPTY
            if value == _EMPTY:
                raise KeyError(f"the log store lacks subtree hash {node}")
            found[node] = bytes(value)
    return found


def merge(
    fetch: Callable[[list[int]], dict[int, bytes]], new_nodes: dict[Node, bytes]
) -> dict[int, bytes]:
    """The tiles that ``new_nodes`` change, with the new hashes written in; ``fetch`` gives
    the stored tiles of the keys asked for."""
    placed: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for node, value in new_nodes.items():
        key, offset = locate(node)
        placed[key].append((offset, value))
    existing = fetch(list(placed))
    changed = {}
    for key, writes in placed.items():
        tile = bytearray(existing.get(key) or bytes(TILE_BYTES))
        for offset, value in writes:
            tile[offset : offset + HASH_SIZE] = value
        changed[key] = bytes(tile)
    return changed
