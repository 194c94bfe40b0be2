"""The anchor tree is Blockcerts' tree: no prefixes, odd nodes promoted."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from anchors.anchor_tree import AnchorTree, checkpoint_leaf, verify_path
from anchors.merkle import VerificationError


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_three_leaves_give_the_root_of_the_cert_issuer_test() -> None:
    # cert-issuer's tests/test_merkle_tree_generator.py: leaves "1", "2", "3" -> 0932f1d2...9044
    tree = AnchorTree.build([sha(b"1"), sha(b"2"), sha(b"3")])
    assert tree.root.hex().startswith("0932f1d2") and tree.root.hex().endswith("9044")
    assert tree.path(2) == [{"left": sha(sha(b"1") + sha(b"2")).hex()}]


def test_a_single_leaf_is_its_own_root() -> None:
    leaf = checkpoint_leaf("origin\n1\nAAAA\n\n— key sig\n")
    assert AnchorTree.build([leaf]).root == leaf
    assert AnchorTree.build([leaf]).path(0) == []


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 17, 33])
def test_every_path_leads_to_the_root(size: int) -> None:
    leaves = [sha(bytes([i])) for i in range(size)]
    tree = AnchorTree.build(leaves)
    for index, leaf in enumerate(leaves):
        verify_path(leaf, tree.path(index), tree.root)


def test_a_path_for_another_leaf_fails() -> None:
    leaves = [sha(bytes([i])) for i in range(4)]
    tree = AnchorTree.build(leaves)
    with pytest.raises(VerificationError, match="anchored root"):
        verify_path(leaves[1], tree.path(0), tree.root)


@pytest.mark.parametrize(
    "spelling",
    [
        lambda digest: digest.upper(),
        lambda digest: f"{digest[:32]} {digest[32:]}",
        lambda digest: digest[:62],
        lambda digest: f"0x{digest}",
        lambda digest: 7,
    ],
    ids=["upper case", "a space", "too short", "0x prefix", "not text"],
)
def test_a_sibling_in_any_other_spelling_than_the_trees_is_refused(spelling: Any) -> None:
    leaves = [sha(bytes([i])) for i in range(4)]
    tree = AnchorTree.build(leaves)
    ((side, digest), *_), *rest = (list(step.items()) for step in tree.path(1))
    path = [{side: spelling(digest)}, *(dict(step) for step in rest)]
    with pytest.raises(VerificationError, match="64 lower-case hex digits"):
        verify_path(leaves[1], path, tree.root)


def test_a_step_that_is_not_an_object_is_refused() -> None:
    tree = AnchorTree.build([sha(b"a"), sha(b"b")])
    with pytest.raises(VerificationError, match="a path step is"):
        verify_path(sha(b"a"), ["right"], tree.root)  # type: ignore[list-item]
