"""An in-memory log store: for benchmarks and tools that build a log they do not keep."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from anchors.log import LogStore, LogStoreConflict
from anchors.merkle import Node, NodeRuns


class MemoryLogStore(LogStore):
    """``keep_entries=False``: only the tree's hashes are kept (what an auditor rebuilding the
    tree needs), not the entries nor their positions, which would hold the whole history in
    memory."""

    def __init__(self, *, keep_entries: bool = True) -> None:
        self._keep_entries = keep_entries
        self._size = 0
        self._entries: list[bytes] = []
        self._positions: dict[int, int] = {}
        # One list per level: subtrees of a level are completed left to right.
        self._levels: list[list[bytes]] = []
        self._checkpoints: list[tuple[int, str]] = []
        self._cosignatures: dict[int, dict[str, str]] = {}
        self._position = 0

    @classmethod
    def resumed(
        cls, size: int, position: int, frontier: dict[Node, bytes], *, keep_entries: bool = True
    ) -> MemoryLogStore:
        """A store that knows only the right edge of a tree of ``size`` entries: enough to
        append, and to prove roots and consistency from that size on."""
        store = cls(keep_entries=keep_entries)
        store._size = size
        if keep_entries:
            store._entries = [b""] * size
        store._position = position
        # Every level as long as the tree makes it, the unknown hashes left empty.
        store._levels = [[b""] * (size >> level) for level in range(size.bit_length())]
        for (level, index), value in frontier.items():
            store._levels[level][index] = value
        return store

    def state(self) -> tuple[int, int]:
        return self._size, self._position

    def nodes(self, ids: Iterable[Node]) -> dict[Node, bytes]:
        levels = self._levels
        return {node: levels[node[0]][node[1]] for node in ids}

    def hashes(self, level: int, first: int, count: int) -> bytes:
        found = self._levels[level][first : first + count] if level < len(self._levels) else []
        if len(found) < count:
            raise KeyError(f"the log store lacks subtree hash {(level, first + len(found))}")
        return b"".join(found)

    def entries(self, start: int, stop: int) -> list[bytes]:
        if not self._keep_entries:
            raise KeyError("this log store keeps the tree's hashes only, not its entries")
        return self._entries[start:stop]

    def positions(self, start: int, stop: int) -> list[int]:
        if not self._keep_entries:
            raise KeyError("this log store keeps the tree's hashes only, not its positions")
        return sorted(p for p, index in self._positions.items() if start <= index < stop)

    def index_of(self, position: int) -> int | None:
        if not self._keep_entries:
            raise KeyError("this log store keeps the tree's hashes only, not its positions")
        return self._positions.get(position)

    def add_checkpoint(self, size: int, note: str) -> None:
        if self._checkpoints and self._checkpoints[-1][0] >= size:
            raise LogStoreConflict(f"a checkpoint at size {size} or later exists")
        self._checkpoints.append((size, note))

    def latest_checkpoint(self) -> tuple[int, str] | None:
        return self._checkpoints[-1] if self._checkpoints else None

    def checkpoints(self, after_size: int, limit: int) -> list[tuple[int, str]]:
        return [c for c in self._checkpoints if c[0] > after_size][:limit]

    def add_cosignature(self, size: int, witness: str, signature: str) -> None:
        self._cosignatures.setdefault(size, {})[witness] = signature

    def cosignatures(self, size: int) -> dict[str, str]:
        return dict(self._cosignatures.get(size, {}))

    def cosigned_sizes(self, witnesses: Iterable[str]) -> dict[str, int]:
        wanted = set(witnesses)
        found: dict[str, int] = {}
        for size, signed in self._cosignatures.items():
            for witness in signed.keys() & wanted:
                found[witness] = max(found.get(witness, 0), size)
        return found

    def cosigners_from(self, at_least: int) -> dict[int, set[str]]:
        return {
            size: set(signed)
            for size, signed in sorted(self._cosignatures.items())
            if size >= at_least
        }

    def append(
        self,
        old_size: int,
        entries: Sequence[bytes],
        positions: Sequence[int],
        runs: NodeRuns,
    ) -> None:
        if old_size != self._size:
            raise LogStoreConflict(f"the log is no longer {old_size} entries long")
        if self._keep_entries:
            for offset, position in enumerate(positions):
                self._positions[position] = old_size + offset
            self._entries.extend(entries)
        self._size += len(entries)
        for level, (first, hashes) in sorted(runs.items()):
            while len(self._levels) <= level:
                self._levels.append([])
            if first != len(self._levels[level]):
                raise LogStoreConflict(f"subtree ({level}, {first}) is out of order")
            self._levels[level].extend(hashes)
        self._position = positions[-1]
