"""The log as C2SP tlog-tiles: what each tile path names, and the bytes of hash tiles and entry
bundles, read from the log's stored hashes and entries.

A level-L hash tile N holds the hashes of the tree's level-8L nodes [256N, 256N + 256), 32 bytes
each; ``.p/W`` is the partial tile of its first W hashes. An entry bundle N holds entries
[256N, 256N + 256), each a big-endian uint16 length and the entry's bytes. Paths write N in
groups of three digits, ``x`` before all but the last (``tile/0/x001/x234/067``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from anchors.log import TransparencyLog

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_ENTRY_BYTES = 0xFFFF
MAX_LEVEL = 63
_PATH = re.compile(
    r"tile/(?P<level>0|[1-9][0-9]?|entries)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


class TileNotFound(Exception):
    """No such tile: a malformed path, or one the checkpoint does not cover yet."""


@dataclass(frozen=True)
class Tile:
    """A hash tile (``level`` 0 upwards) or an entry bundle (``level`` None), ``width`` hashes
    or entries wide (``TILE_WIDTH`` when full)."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    def path(self) -> str:
        """The tile's path below the log's prefix (c2sp.org/tlog-tiles)."""
        digits = f"{self.index:03d}"
        digits = "0" * (-len(digits) % 3) + digits
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        index = "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])
        level = "entries" if self.level is None else str(self.level)
        partial = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{index}{partial}"

    def covered_by(self, size: int) -> bool:
        """Whether a tree of ``size`` entries holds every hash or entry of this tile."""
        shift = TILE_HEIGHT * (self.level or 0)
        return (self.index * TILE_WIDTH + self.width) << shift <= size


def parse(path: str) -> Tile:
    """The tile a path names; TileNotFound for anything but a canonical tile path."""
    found = _PATH.fullmatch(path)
    if found is None:
        raise TileNotFound(f"{path!r} is not a tile path")
    index = int(found["index"].replace("x", "").replace("/", ""))
    width = int(found["width"]) if found["width"] else TILE_WIDTH
    level = None if found["level"] == "entries" else int(found["level"])
    if level is not None and level > MAX_LEVEL:
        raise TileNotFound(f"{path!r}: no level above {MAX_LEVEL}")
    tile = Tile(level, index, width)
    # One name a tile: no leading zero groups, no partial tile 256 wide.
    if width > TILE_WIDTH or tile.path() != path:
        raise TileNotFound(f"{path!r} is not the canonical path of a tile")
    return tile


def hash_tile(log: TransparencyLog, tile: Tile) -> bytes:
    """The tile's hashes, read from the log's stored subtree hashes."""
    assert tile.level is not None
    return log.store.hashes(TILE_HEIGHT * tile.level, tile.index * TILE_WIDTH, tile.width)


def entry_bundle(entries: list[bytes]) -> bytes:
    """Entries as a tlog-tiles entry bundle: each a big-endian uint16 length and its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError(f"a log entry of {len(entry)} bytes does not fit an entry bundle")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def entries_of(bundle: bytes) -> list[bytes]:
    """The entries of an entry bundle; ValueError if it is cut short."""
    entries, at = [], 0
    while at < len(bundle):
        if at + 2 > len(bundle):
            raise ValueError("an entry bundle ends inside a length")
        length = int.from_bytes(bundle[at : at + 2], "big")
        if at + 2 + length > len(bundle):
            raise ValueError("an entry bundle ends inside an entry")
        entries.append(bundle[at + 2 : at + 2 + length])
        at += 2 + length
    return entries


def read_tile(log: TransparencyLog, tile: Tile, size: int) -> bytes:
    """The bytes of ``tile`` in the tree of ``size`` entries (the published checkpoint's);
    TileNotFound if that tree does not cover it."""
    if not tile.covered_by(size):
        raise TileNotFound(f"{tile.path()} is beyond the checkpoint's {size} entries")
    if tile.level is None:
        first = tile.index * TILE_WIDTH
        return entry_bundle(log.store.entries(first, first + tile.width))
    return hash_tile(log, tile)


class FullTiles:
    """Full tiles never change: each is kept after its first read, the least recently used
    dropped first once ``max_bytes`` are held; partial tiles are always read afresh."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self._max_bytes = max_bytes
        self._held: OrderedDict[Tile, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def read(self, log: TransparencyLog, tile: Tile, size: int) -> bytes:
        """``read_tile``, from memory when a full tile was read before (checkpoints only grow,
        so a full tile covered once stays covered)."""
        if not tile.full:
            return read_tile(log, tile, size)
        with self._lock:
            found = self._held.get(tile)
            if found is not None:
                self._held.move_to_end(tile)
                return found
        data = read_tile(log, tile, size)
        with self._lock:
            if tile not in self._held and len(data) <= self._max_bytes:
                self._held[tile] = data
                self._bytes += len(data)
                while self._bytes > self._max_bytes:
                    _, dropped = self._held.popitem(last=False)
                    self._bytes -= len(dropped)
        return data
