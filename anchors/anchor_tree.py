"""The per-batch anchor tree, Blockcerts-style, and its paths.

Parent = SHA-256(left || right) with no domain prefix, and an odd last node is promoted
unchanged (the tree of Blockcerts' ``merkletools``). The first leaf is SHA-256 of the batch's
checkpoint note; the others are the hashes of the credential documents issued or amended in the
batch. A path lists the siblings from the leaf up as ``{"left": hex}`` or ``{"right": hex}``
(the Chainpoint form MerkleProof2019 carries); promoted levels contribute nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from anchors.merkle import VerificationError

PathStep = dict[str, str]
_DIGEST_HEX = re.compile(r"[0-9a-f]{64}")


def checkpoint_leaf(note: str) -> bytes:
    """The anchor-tree leaf of a checkpoint: SHA-256 of its signed note."""
    return hashlib.sha256(note.encode()).digest()


def _parent(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(left + right).digest()


@dataclass(frozen=True)
class AnchorTree:
    """All levels of the tree over ``leaves``, the leaves first and the root last."""

    levels: tuple[tuple[bytes, ...], ...]

    @classmethod
    def build(cls, leaves: Sequence[bytes]) -> AnchorTree:
        if not leaves:
            raise ValueError("an anchor tree needs at least its checkpoint leaf")
        levels = [tuple(leaves)]
        while len(levels[-1]) > 1:
            level = levels[-1]
            parents = [_parent(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                parents.append(level[-1])
            levels.append(tuple(parents))
        return cls(tuple(levels))

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def path(self, index: int) -> list[PathStep]:
        """The siblings of leaf ``index`` from the bottom up."""
        steps: list[PathStep] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                side = "left" if sibling < index else "right"
                steps.append({side: level[sibling].hex()})
            index >>= 1
        return steps


def _sibling(step: PathStep, side: str) -> bytes:
    # Exactly the form path() writes: one digest, 64 lower-case hex digits. bytes.fromhex would
    # also take upper case and spaces, so two spellings of one path would both verify.
    value = step[side]
    if not isinstance(value, str) or not _DIGEST_HEX.fullmatch(value):
        raise VerificationError(
            f"a path step's {side} sibling must be 64 lower-case hex digits (a SHA-256 digest)"
        )
    return bytes.fromhex(value)


def root_from_path(leaf: bytes, path: Sequence[PathStep]) -> bytes:
    """The root that ``path`` leads to from ``leaf``."""
    current = leaf
    for step in path:
        if not isinstance(step, dict):
            raise VerificationError("a path step is {'left': hex} or {'right': hex}")
        if set(step) == {"left"}:
            current = _parent(_sibling(step, "left"), current)
        elif set(step) == {"right"}:
            current = _parent(current, _sibling(step, "right"))
        else:
            raise VerificationError(f"a path step is {{'left': hex}} or {{'right': hex}}: {step}")
    return current


def verify_path(leaf: bytes, path: Sequence[PathStep], root: bytes) -> None:
    computed = root_from_path(leaf, path)
    if computed != root:
        raise VerificationError(
            f"the anchor path leads to {computed.hex()}, the anchored root is {root.hex()}"
        )
