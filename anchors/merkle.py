"""RFC 9162 Merkle tree maths: hashing, proof plans over stored subtrees, and verification.

Everything here is pure. A log stores the hash of every *perfect* subtree (2^level leaves,
aligned at a multiple of its size), addressed as ``(level, index)``. Any root or proof needs the
hashes of O(log n) such subtrees: :func:`inclusion_plan` and :func:`consistency_plan` say which,
and :func:`fold` combines them, so a proof costs one batched read at any tree size.

Verification follows RFC 9162 section 2.1.3.2 and 2.1.4.2 step by step, with three policies the
reference vectors expect: every hash is 32 bytes; equal sizes need an empty proof and equal
roots; a consistency proof from the empty tree is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]
# New subtree hashes by level: (the first one's index, the hashes of consecutive indexes). An
# append completes a run of consecutive nodes at each level, so they are handled as runs.
NodeRuns = dict[int, tuple[int, list[bytes]]]
"""A perfect subtree: (level, index); it covers leaves [index * 2^level, (index + 1) * 2^level)."""


class VerificationError(Exception):
    """A proof did not check out; the message says what was expected and what was computed."""


def leaf_hash(entry: bytes) -> bytes:
    """``H(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``H(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


@dataclass(frozen=True)
class Range:
    """The hash of leaves [start, end): the perfect subtrees that make it, largest first."""

    nodes: tuple[Node, ...]


def range_nodes(start: int, end: int) -> Range:
    """The perfect subtrees whose right-to-left fold is MTH of leaves [start, end).

    ``start`` must be aligned to the range's k-split, as every range in a proof is.
    """
    size = end - start
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return Range(((level, start >> level),))
    nodes = []
    while start < end:
        # The largest power of two not above the size: the k-split's left part, or all of it.
        level = (end - start).bit_length() - 1
        nodes.append((level, start >> level))
        start += 1 << level
    return Range(tuple(nodes))


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees, largest first: H(p1, H(p2, ... pn))."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def root_plan(size: int) -> Range:
    """The perfect subtrees that give the root of a tree of ``size`` leaves (size > 0)."""
    return range_nodes(0, size)


def inclusion_plan(index: int, size: int) -> list[Range]:
    """PATH(index, D[size]) of RFC 9162 2.1.3.1, as the ranges to fold, leaf side first.

    Below ``inner`` (the highest level where the leaf's and the last leaf's paths part), each
    sibling is a whole subtree, but the topmost of them, which ends at the tree's right edge;
    above it, the siblings are the whole left subtrees where the index has a bit set.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    inner = (index ^ (size - 1)).bit_length()
    path = [Range(((level, (index >> level) ^ 1),)) for level in range(inner - 1)]
    if inner:
        level = inner - 1
        right = ((index >> level) | 1) << level
        path.append(range_nodes(right, size))
    for level in range(inner, size.bit_length()):
        if (index >> level) & 1:
            path.append(Range(((level, (index >> level) ^ 1),)))
    return path


def consistency_plan(old_size: int, new_size: int) -> list[Range]:
    """PROOF(old_size, D[new_size]) of RFC 9162 2.1.4.1, as ranges to fold."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    proof: list[Range] = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            proof.append(range_nodes(start + k, end))
            end = start + k
        else:
            proof.append(range_nodes(start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        proof.append(range_nodes(start, end))
    proof.reverse()
    return proof


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition over leaf hashes (for checking)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _largest_power_of_two_below(len(leaves))
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def _check_size(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(f"{name} is {len(value)} bytes, a hash is {HASH_SIZE}")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 2.1.3.2: raise :class:`VerificationError` unless ``leaf`` is at ``index``."""
    _check_size("the leaf hash", leaf)
    _check_size("the root", root)
    for position, element in enumerate(proof):
        _check_size(f"proof element {position}", element)
    if index >= size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for element in proof:
        if sn == 0:
            raise VerificationError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(element, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("the proof is shorter than the tree is deep")
    if r != root:
        raise VerificationError(f"computed root {r.hex()} is not the expected {root.hex()}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2: raise :class:`VerificationError` unless the trees are consistent."""
    if old_size == 0:
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if old_size > new_size:
        raise VerificationError(f"the old size {old_size} is larger than the new {new_size}")
    if old_size == new_size:
        if proof:
            raise VerificationError("trees of equal size need an empty proof")
        if old_root != new_root:
            raise VerificationError("two trees of one size have different roots")
        return
    _check_size("the old root", old_root)
    _check_size("the new root", new_root)
    for position, element in enumerate(proof):
        _check_size(f"proof element {position}", element)
    if not proof:
        raise VerificationError("the proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for element in path[1:]:
        if sn == 0:
            raise VerificationError("the proof is longer than the trees need")
        if fn & 1 or fn == sn:
            fr = node_hash(element, fr)
            sr = node_hash(element, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("the proof is shorter than the trees need")
    if fr != old_root:
        raise VerificationError(f"computed old root {fr.hex()} is not {old_root.hex()}")
    if sr != new_root:
        raise VerificationError(f"computed new root {sr.hex()} is not {new_root.hex()}")
