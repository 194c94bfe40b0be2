"""The persistent log: appends, roots and proofs agree with the RFC at every size."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from anchors.log import LogStoreConflict, TransparencyLog
from anchors.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    reference_root,
    verify_consistency,
    verify_inclusion,
)
from anchors.sqlite import SQLiteLogStore


def test_an_empty_log_has_the_empty_root(log: TransparencyLog) -> None:
    assert (log.size(), log.position(), log.root()) == (0, 0, EMPTY_ROOT)


def test_appends_in_uneven_batches_keep_every_root_and_proof_right(log: TransparencyLog) -> None:
    rng = random.Random(9162)
    entries: list[bytes] = []
    while len(entries) < 700:
        batch = [rng.randbytes(rng.randrange(1, 90)) for _ in range(rng.randrange(1, 60))]
        log.append(batch, list(range(len(entries) + 1, len(entries) + len(batch) + 1)))
        entries += batch
        leaves = [leaf_hash(e) for e in entries]
        assert log.root() == reference_root(leaves)
    for size in [1, 2, 3, 64, 65, 255, 256, 257, 511, len(entries)]:
        root = reference_root(leaves[:size])
        assert log.root(size) == root
        for index in {0, size // 2, size - 1}:
            proof = log.inclusion_proof(index, size)
            verify_inclusion(index, size, leaves[index], list(proof.hashes), root)
        for old in {1, size // 3 or 1, size}:
            proof = log.consistency_proof(old, size)
            verify_consistency(old, size, log.root(old), root, list(proof.hashes))
    assert log.store.entries(10, 13) == entries[10:13]
    assert log.position() == len(entries)
    assert log.store.index_of(5) == 4 and log.store.index_of(10_000) is None


def test_a_reopened_log_continues_where_it_stopped(tmp_path: Path) -> None:
    first = TransparencyLog(SQLiteLogStore(tmp_path / "log.sqlite"))
    first.append([b"a", b"b", b"c"], [1, 2, 3])
    again = TransparencyLog(SQLiteLogStore(tmp_path / "log.sqlite"))
    again.append([b"d", b"e"], [4, 5])
    leaves = [leaf_hash(e) for e in (b"a", b"b", b"c", b"d", b"e")]
    assert again.root() == reference_root(leaves)


def test_a_writer_with_a_stale_size_writes_nothing(log: TransparencyLog) -> None:
    log.append([b"a"], [1])
    with pytest.raises(LogStoreConflict):
        log.store.append(0, [b"b"], [2], {0: (0, [leaf_hash(b"b")])})
    assert log.size() == 1 and log.root() == leaf_hash(b"a")


def test_a_log_goes_on_from_its_own_last_append_without_reading_the_store_back(
    log: TransparencyLog,
) -> None:
    log.append([b"a", b"b", b"c"], [1, 2, 3])
    store = log.store
    read = []
    for method in ("state", "nodes"):
        original = getattr(store, method)
        setattr(store, method, lambda *a, _m=method, _o=original: read.append(_m) or _o(*a))
    log.append([b"d"], [4])
    log.append([b"e", b"f"], [5, 6])
    assert read == []
    leaves = [leaf_hash(e) for e in (b"a", b"b", b"c", b"d", b"e", b"f")]
    assert log.root() == reference_root(leaves)


def test_an_append_made_elsewhere_since_is_caught_and_the_next_append_reads_the_store(
    log: TransparencyLog,
) -> None:
    log.append([b"a"], [1])
    elsewhere = TransparencyLog(log.store)  # another consumer of the same store
    elsewhere.append([b"b"], [2])
    with pytest.raises(LogStoreConflict):
        log.append([b"c"], [3])
    log.append([b"c"], [3])
    assert log.root() == reference_root([leaf_hash(e) for e in (b"a", b"b", b"c")])


def test_proofs_beyond_the_log_are_refused(log: TransparencyLog) -> None:
    log.append([b"a", b"b"], [1, 2])
    with pytest.raises(ValueError, match="2 entries"):
        log.inclusion_proof(0, 3)
