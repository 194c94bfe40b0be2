"""Packing subtree hashes into tiles: 8 levels of a 256-leaf subtree in one 16 KiB blob.

A store that writes one row per hash pays per row; tiles (after tlog-tiles) make a log of n
entries about n/255 rows of hashes. Tile (T, K) holds the nodes of levels 8T..8T+7 below the
level-8T nodes [256K, 256K + 256); inside it, each level's nodes follow the level below. A slot
of zero bytes is a node not yet complete.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from anchors.merkle import HASH_SIZE, Node, NodeRuns

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


def slices(level: int, first: int, count: int) -> list[tuple[int, int, int]]:
    """Where ``count`` consecutive nodes of ``level`` from ``first`` lie: (tile key, byte
    offset, nodes) for each tile they span, in order."""
    per_tile = WIDTH >> (level % HEIGHT)  # nodes of this level in one tile
    found, at = [], 0
    while at < count:
        index = first + at
        take = min(count - at, per_tile - index % per_tile)
        key, offset = locate((level, index))
        found.append((key, offset, take))
        at += take
    return found


def cut(
    stored: dict[int, bytes], level: int, first: int, where: list[tuple[int, int, int]]
) -> bytes:
    """The hashes ``where`` points at in the ``stored`` tiles, joined; KeyError for a node
    not stored (a zero slot)."""
    out, index = [], first
    for key, offset, take in where:
        data = stored.get(key, b"")[offset : offset + take * HASH_SIZE]
        if len(data) < take * HASH_SIZE:
            raise KeyError(f"the log store lacks subtree hash {(level, index)}")
        for at in range(0, len(data), HASH_SIZE):
            if data[at : at + HASH_SIZE] == _EMPTY:
                raise KeyError(
                    f"the log store lacks subtree hash {(level, index + at // HASH_SIZE)}"
                )
        out.append(data)
        index += take
    return b"".join(out)


def merge(fetch: Callable[[list[int]], dict[int, bytes]], runs: NodeRuns) -> dict[int, bytes]:
    """The tiles that the ``runs`` of new nodes change, with the new hashes written in;
    ``fetch`` gives the stored tiles of the keys asked for.

    Consecutive nodes of one level are consecutive slots of a tile, so each run is cut at tile
    boundaries and written as whole slices."""
    placed: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for level, (first, hashes) in runs.items():
        at = 0
        for key, offset, take in slices(level, first, len(hashes)):
            placed[key].append((offset, b"".join(hashes[at : at + take])))
            at += take
    existing = fetch(list(placed))
    changed = {}
    for key, writes in placed.items():
        tile = bytearray(existing.get(key) or bytes(TILE_BYTES))
        for offset, value in writes:
            tile[offset : offset + len(value)] = value
        changed[key] = bytes(tile)
    return changed
