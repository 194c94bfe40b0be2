"""An append-only RFC 9162 log over a store of entries and perfect-subtree hashes.

Sequencing (assigning indexes, hashing new subtrees from the right frontier) lives here; the
store only keeps bytes (``anchors.sqlite``, ``anchors.postgres``); the tree maths is in
``anchors.merkle``. Appends write O(1) hashes per entry on average; a root, an inclusion proof
or a consistency proof reads O(log n) stored hashes in one batch, at any size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anchors.checkpoint import Checkpoint, NoteSigner
from anchors.merkle import (
    EMPTY_ROOT,
    Node,
    NodeRuns,
    Range,
    consistency_plan,
    fold,
    inclusion_plan,
    leaf_hash,
    node_hash,
    root_plan,
    verify_consistency,
)


class LogStoreConflict(Exception):
    """The log grew elsewhere since it was read: nothing was written."""


class LogStore(ABC):
    """Where a log's entries and subtree hashes live; one implementation per backend."""

    def close(self) -> None:  # noqa: B027 (a hook: only pooled backends need it)
        """Release the backend's connections."""

    @abstractmethod
    def state(self) -> tuple[int, int]:
        """(tree size, position of the last source event appended; 0 before any)."""

    @abstractmethod
    def nodes(self, ids: Iterable[Node]) -> dict[Node, bytes]:
        """The stored hashes of these perfect subtrees."""

    def hashes(self, level: int, first: int, count: int) -> bytes:
        """The stored hashes of ``count`` consecutive subtrees of one level, joined (what a
        tlog-tiles hash tile holds)."""
        wanted = [(level, first + i) for i in range(count)]
        found = self.nodes(wanted)
        return b"".join(found[node] for node in wanted)

    @abstractmethod
    def entries(self, start: int, stop: int) -> list[bytes]:
        """The entries at indexes [start, stop)."""

    def entry_ends(self, start: int, stop: int, length: int) -> list[bytes]:
        """The last ``length`` bytes of each entry at indexes [start, stop) (the whole of a
        shorter one): for a reader that needs only what an entry ends with."""
        return [entry[-length:] for entry in self.entries(start, stop)]

    @abstractmethod
    def index_of(self, position: int) -> int | None:
        """The index of the entry made from the source event at ``position``."""

    @abstractmethod
    def positions(self, start: int, stop: int) -> list[int]:
        """The source events' positions of the entries at indexes [start, stop)."""

    @abstractmethod
    def add_checkpoint(self, size: int, note: str) -> None:
        """Keep a signed checkpoint of the log at ``size`` (sizes only grow)."""

    @abstractmethod
    def latest_checkpoint(self) -> tuple[int, str] | None:
        """(size, signed note) of the newest checkpoint, if any."""

    @abstractmethod
    def checkpoints(self, after_size: int, limit: int) -> list[tuple[int, str]]:
        """Checkpoints with sizes above ``after_size``, oldest first."""

    @abstractmethod
    def add_cosignature(self, size: int, witness: str, signature: str) -> None:
        """Keep a witness's cosignature of the checkpoint at ``size`` (the last one stays)."""

    @abstractmethod
    def cosignatures(self, size: int) -> dict[str, str]:
        """Witness public key -> cosignature, for the checkpoint at ``size``."""

    @abstractmethod
    def cosigners_from(self, at_least: int) -> dict[int, set[str]]:
        """Who cosigned the checkpoints from size ``at_least`` on (the first 1,000 rows)."""

    @abstractmethod
    def cosigned_sizes(self, witnesses: Iterable[str]) -> dict[str, int]:
        """Each of ``witnesses`` (public keys) that cosigned -> the largest size it cosigned."""

    @abstractmethod
    def append(
        self,
        old_size: int,
        entries: Sequence[bytes],
        positions: Sequence[int],
        runs: NodeRuns,
    ) -> None:
        """Store entries from index ``old_size`` on, with the source positions they come from
        and their new subtree hashes, atomically; :class:`LogStoreConflict` if the size
        moved."""


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    hashes: tuple[bytes, ...]


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]


class TransparencyLog:
    """Appends entries and answers roots and proofs for one log store."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        # A tree of a given size never changes, so neither does its root.
        self._roots: dict[int, bytes] = {}
        self._folded: dict[tuple[Node, ...], bytes] = {}
        # The tree's right edge (its size and frontier) after this log's last append: the next
        # one goes on from it without reading the store, which refuses it if the size moved.
        self._edge: tuple[int, dict[int, bytes]] | None = None

    def size(self) -> int:
        return self.store.state()[0]

    def position(self) -> int:
        """The position of the last source event in the log."""
        return self.store.state()[1]

    def append(self, entries: Sequence[bytes], positions: Sequence[int]) -> int:
        """Append ``entries`` made from the source events at ``positions``; returns the new
        size."""
        edge, self._edge = self._edge, None
        if edge is None:
            size = self.size()
            frontier = self._frontier(size)
        else:
            size, frontier = edge
        runs: NodeRuns = {}
        for offset, entry in enumerate(entries):
            _extend(frontier, size + offset, leaf_hash(entry), runs)
        self.store.append(size, entries, positions, runs)
        self._edge = (size + len(entries), frontier)
        return size + len(entries)

    def _frontier(self, size: int) -> dict[int, bytes]:
        """The pending left subtrees along the right edge, by level."""
        if size == 0:
            return {}
        plan = root_plan(size).nodes
        found = self.store.nodes(plan)
        return {level: found[(level, index)] for level, index in plan}

    def root(self, size: int | None = None) -> bytes:
        """The RFC 9162 root hash of the first ``size`` entries (default: all)."""
        size = self.size() if size is None else size
        if size == 0:
            return EMPTY_ROOT
        root = self._roots.get(size)
        if root is None:
            root = self._fold_all([root_plan(size)])[0]
            if len(self._roots) > 1024:
                self._roots.clear()
            self._roots[size] = root
        return root

    def inclusion_proof(self, index: int, size: int) -> InclusionProof:
        self._within(size)
        return InclusionProof(index, size, tuple(self._fold_all(inclusion_plan(index, size))))

    def consistency_proof(self, old_size: int, new_size: int) -> ConsistencyProof:
        self._within(new_size)
        hashes = self._fold_all(consistency_plan(old_size, new_size))
        return ConsistencyProof(old_size, new_size, tuple(hashes))

    def sign_checkpoint(self, signer: NoteSigner, origin: str) -> tuple[int, str]:
        """Sign and keep a checkpoint of the whole log; returns (size, signed note).

        Before signing, the new tree is proved consistent with the last signed checkpoint from
        the stored hashes, so the log never signs two checkpoints no proof connects, even if
        its store were damaged.
        """
        size = self.size()
        latest = self.store.latest_checkpoint()
        if latest is not None and latest[0] == size:
            return latest
        root = self.root(size)
        if latest is not None:
            old = Checkpoint.parse(latest[1].partition("\n\n")[0] + "\n")
            proof = self.consistency_proof(old.size, size)
            verify_consistency(old.size, size, old.root, root, list(proof.hashes))
        note = signer.sign(Checkpoint(origin, size, root).body())
        self.store.add_checkpoint(size, note)
        return size, note

    def leaf_hash(self, index: int) -> bytes:
        return self.store.nodes([(0, index)])[(0, index)]

    def _within(self, size: int) -> None:
        if size > self.size():
            raise ValueError(f"the log has {self.size()} entries, not {size}")

    def _fold_all(self, ranges: Sequence[Range]) -> list[bytes]:
        # Ranges of several subtrees lie on a right edge and repeat between proofs of one
        # size; like roots, they never change, so their folds are kept.
        folded = self._folded
        wanted = {
            node for r in ranges if len(r.nodes) == 1 or r.nodes not in folded for node in r.nodes
        }
        hashes = self.store.nodes(wanted)
        result = []
        for r in ranges:
            if len(r.nodes) == 1:
                result.append(hashes[r.nodes[0]])
                continue
            value = folded.get(r.nodes)
            if value is None:
                value = fold([hashes[node] for node in r.nodes])
                if len(folded) > 4096:
                    folded.clear()
                folded[r.nodes] = value
            result.append(value)
        return result


def _extend(frontier: dict[int, bytes], index: int, leaf: bytes, out: NodeRuns) -> None:
    """Add leaf ``index`` and every perfect subtree it completes; keep the frontier current."""
    _add(out, 0, index, leaf)
    current, level = leaf, 0
    while index & 1:
        current = node_hash(frontier[level], current)
        level += 1
        index >>= 1
        _add(out, level, index, current)
    frontier[level] = current


def _add(runs: NodeRuns, level: int, index: int, value: bytes) -> None:
    """Append a node to its level's run (an append completes each level's nodes in order)."""
    run = runs.get(level)
    if run is None:
        runs[level] = (index, [value])
    else:
        run[1].append(value)
