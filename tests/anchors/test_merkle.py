"""RFC 9162 tree maths against the reference vectors and a naive tree built from the RFC."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from anchors.merkle import (
    EMPTY_ROOT,
    VerificationError,
    consistency_plan,
    fold,
    inclusion_plan,
    leaf_hash,
    node_hash,
    reference_root,
    root_plan,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parent / "vectors" / "rfc9162"
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]


def cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def outcome(check: Any) -> bool:
    try:
        check()
    except VerificationError:
        return False
    return True


@pytest.mark.parametrize("path", cases("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    accepted = outcome(
        lambda: verify_inclusion(
            case["leafIdx"],
            case["treeSize"],
            b64(case["leafHash"]),
            [b64(p) for p in case["proof"] or []],
            b64(case["root"]),
        )
    )
    assert accepted is not case["wantErr"], case["desc"]


@pytest.mark.parametrize("path", cases("consistency"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    accepted = outcome(
        lambda: verify_consistency(
            case["size1"],
            case["size2"],
            b64(case["root1"]),
            b64(case["root2"]),
            [b64(p) for p in case["proof"] or []],
        )
    )
    assert accepted is not case["wantErr"], case["desc"]


def test_the_vectors_are_all_there() -> None:
    assert VECTORS.is_dir(), f"the vectors belong at {VECTORS}"
    assert len(cases("inclusion")) == 98 and len(cases("consistency")) == 98


def test_the_reference_tree_gives_the_rfc6962_root_of_eight_leaves() -> None:
    root = reference_root([leaf_hash(d) for d in RFC6962_LEAVES])
    assert root.hex().startswith("5dc9da79") and root.hex().endswith("4328")
    assert reference_root([]) == EMPTY_ROOT


# A naive tree, written from the RFC's recursive definitions, to check the planned proofs.


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*naive_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), reference_root(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    if m == len(leaves):
        return [] if complete else [reference_root(leaves)]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m <= k:
        return [*naive_subproof(m, leaves[:k], complete), reference_root(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), reference_root(leaves[:k])]


def perfect_nodes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    nodes = {(0, i): h for i, h in enumerate(leaves)}
    level, width = 0, len(leaves)
    while width > 1:
        for i in range(width // 2):
            nodes[(level + 1, i)] = node_hash(nodes[(level, 2 * i)], nodes[(level, 2 * i + 1)])
        level, width = level + 1, width // 2
    return nodes


def test_planned_roots_and_proofs_match_the_naive_tree_up_to_a_few_thousand_leaves() -> None:
    rng = random.Random(6962)
    sizes = [*range(1, 70), *rng.sample(range(70, 3000), 25), 2048, 2049, 4095]
    for size in sizes:
        leaves = [leaf_hash(rng.randbytes(rng.randrange(40))) for _ in range(size)]
        nodes = perfect_nodes(leaves)
        root = reference_root(leaves)
        assert fold([nodes[n] for n in root_plan(size).nodes]) == root
        for index in {0, size - 1, rng.randrange(size)}:
            proof = [fold([nodes[n] for n in r.nodes]) for r in inclusion_plan(index, size)]
            assert proof == naive_path(index, leaves)
            verify_inclusion(index, size, leaves[index], proof, root)
        for old in {1, size, rng.randrange(1, size + 1)}:
            proof = [fold([nodes[n] for n in r.nodes]) for r in consistency_plan(old, size)]
            assert proof == naive_subproof(old, leaves, True)
            verify_consistency(old, size, reference_root(leaves[:old]), root, proof)


def test_a_proof_for_another_leaf_fails_with_both_roots_named() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(5)]
    nodes = perfect_nodes(leaves)
    proof = [fold([nodes[n] for n in r.nodes]) for r in inclusion_plan(2, 5)]
    with pytest.raises(VerificationError, match=r"computed root \w+ is not the expected"):
        verify_inclusion(2, 5, leaves[3], proof, reference_root(leaves))
