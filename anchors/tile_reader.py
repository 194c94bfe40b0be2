"""Proofs from a log's C2SP tiles, fetched from wherever they are mirrored: the ledger's
``/tlog/``, a static export behind a CDN, an object store. Nothing of the ledger's API is
needed, and nothing a mirror serves is trusted: the root computed from its tiles must be the
checkpoint's, which the caller verifies against the log's key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from anchors.merkle import (
    HASH_SIZE,
    Node,
    VerificationError,
    consistency_plan,
    fold,
    inclusion_plan,
    node_hash,
    root_plan,
)
from anchors.tlog_tiles import TILE_HEIGHT, TILE_WIDTH, Tile, entries_of


class TileReader:
    """The tree of ``size`` entries, read from tiles that ``fetch(path)`` returns."""

    def __init__(self, fetch: Callable[[str], bytes], size: int) -> None:
        self._fetch = fetch
        self.size = size
        self._tiles: dict[Tile, bytes] = {}

    def _tile(self, level: int | None, index: int) -> bytes:
        shift = TILE_HEIGHT * (level or 0)
        width = min(TILE_WIDTH, (self.size >> shift) - index * TILE_WIDTH)
        if width <= 0:
            raise VerificationError(f"no tile {level}/{index} in a tree of {self.size}")
        tile = Tile(level, index, width)
        if tile not in self._tiles:
            data = self._fetch(tile.path())
            if level is not None and len(data) != width * HASH_SIZE:
                raise VerificationError(f"tile {tile.path()} is not {width} hashes long")
            self._tiles[tile] = data
        return self._tiles[tile]

    def _stored(self, level: int, index: int) -> bytes:
        """A level-8L hash, from its tile."""
        tile_level = level // TILE_HEIGHT
        data = self._tile(tile_level, index // TILE_WIDTH)
        offset = (index % TILE_WIDTH) * HASH_SIZE
        return data[offset : offset + HASH_SIZE]

    def node(self, node: Node) -> bytes:
        """The hash of a perfect subtree: from the tile at the level below it, folded up."""
        level, index = node
        if (index + 1) << level > self.size:
            raise VerificationError(f"node {node} is not complete in a tree of {self.size}")
        base = level - level % TILE_HEIGHT
        span = level - base
        hashes = [self._stored(base, (index << span) + i) for i in range(1 << span)]
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def _nodes(self, ids: Iterable[Node]) -> list[bytes]:
        return [self.node(n) for n in ids]

    def root(self) -> bytes:
        return fold(self._nodes(root_plan(self.size).nodes))

    def inclusion_proof(self, index: int) -> list[bytes]:
        return [fold(self._nodes(r.nodes)) for r in inclusion_plan(index, self.size)]

    def consistency_proof(self, old_size: int) -> list[bytes]:
        return [fold(self._nodes(r.nodes)) for r in consistency_plan(old_size, self.size)]

    def entry(self, index: int) -> bytes:
        """Entry ``index``, from its entry bundle."""
        if not 0 <= index < self.size:
            raise VerificationError(f"no entry {index} in a tree of {self.size}")
        bundle = self._tile(None, index // TILE_WIDTH)
        try:
            entries = entries_of(bundle)
        except ValueError as exc:
            raise VerificationError(f"entry bundle {index // TILE_WIDTH}: {exc}") from None
        if len(entries) <= index % TILE_WIDTH:
            raise VerificationError(f"entry bundle {index // TILE_WIDTH} is short")
        return entries[index % TILE_WIDTH]

    def entries(self, start: int, stop: int) -> list[bytes]:
        """Entries [start, stop), bundle by bundle, keeping none of the bundles (an audit
        reads millions)."""
        found: list[bytes] = []
        index = start
        while index < min(stop, self.size):
            number = index // TILE_WIDTH
            width = min(TILE_WIDTH, self.size - number * TILE_WIDTH)
            try:
                bundle = entries_of(self._fetch(Tile(None, number, width).path()))
            except ValueError as exc:
                raise VerificationError(f"entry bundle {number}: {exc}") from None
            if len(bundle) != width:
                raise VerificationError(f"entry bundle {number} holds {len(bundle)} entries")
            end = min(stop, (number + 1) * TILE_WIDTH)
            found += bundle[index - number * TILE_WIDTH : end - number * TILE_WIDTH]
            index = end
        return found
