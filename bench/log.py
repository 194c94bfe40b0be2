"""Transparency-log benchmark: credledger's log side by side with pymerkle 7, same leaves.

For each size (10^4, 10^5, 10^6 entries by default) and for both storage kinds, persistent
(credledger on SQLite, pymerkle's ``SqliteTree``) and in memory (credledger's memory store,
pymerkle's ``InmemoryTree``), it measures in one run: appends per second, roots per second,
and inclusion and consistency proofs per second at random indexes. Then it anchors batches of
10, 10^3 and 10^5 entries on a real Anvil node and reports the gas of each anchoring
transaction and the cost per credential.

    .venv/bin/python bench/log.py [--sizes 10000 100000 1000000] [--proofs 2000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymerkle import InmemoryTree, SqliteTree

from anchors.anchor_tree import checkpoint_leaf
from anchors.anchoring import Anchorer
from anchors.anvil import ManagedAnvil, dev_account, find_anvil
from anchors.checkpoint import NoteSigner
from anchors.ethereum import Web3Chain
from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from anchors.merkle import verify_consistency, verify_inclusion
from anchors.sqlite import SQLiteAnchorStore, SQLiteLogStore

CHUNK = 10_000


def rate(count: int, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return count / (time.perf_counter() - start)


def entries(count: int) -> list[bytes]:
    rng = random.Random(count)
    # Entries the size of a credential envelope, as the ledger appends them.
    return [rng.randbytes(900) for _ in range(count)]


def ours(
    log: TransparencyLog, data: list[bytes], rng: random.Random, proofs: int
) -> dict[str, float]:
    size = len(data)

    def append() -> None:
        # One call, one transaction, as pymerkle's append_entries does.
        log.append(data, list(range(1, size + 1)))

    result = {"append": rate(size, append)}
    result["root"] = rate(200, lambda: [log.root(size) for _ in range(200)])
    indexes = [rng.randrange(size) for _ in range(proofs)]
    result["inclusion"] = rate(proofs, lambda: [log.inclusion_proof(i, size) for i in indexes])
    pairs = [rng.randrange(1, size) for _ in range(proofs)]
    result["consistency"] = rate(proofs, lambda: [log.consistency_proof(m, size) for m in pairs])
    # The proofs are right, not only fast.
    root = log.root(size)
    proof = log.inclusion_proof(indexes[0], size)
    verify_inclusion(indexes[0], size, log.leaf_hash(indexes[0]), list(proof.hashes), root)
    consistency = log.consistency_proof(pairs[0], size)
    verify_consistency(pairs[0], size, log.root(pairs[0]), root, list(consistency.hashes))
    return result


def theirs(tree: Any, data: list[bytes], rng: random.Random, proofs: int) -> dict[str, float]:
    size = len(data)

    def append() -> None:
        if isinstance(tree, SqliteTree):
            tree.append_entries(data, chunksize=CHUNK)
        else:
            for entry in data:
                tree.append_entry(entry)

    result = {"append": rate(size, append)}
    result["root"] = rate(200, lambda: [tree.get_root(size) for _ in range(200)])
    indexes = [rng.randrange(1, size + 1) for _ in range(proofs)]
    result["inclusion"] = rate(proofs, lambda: [tree.prove_inclusion(i, size) for i in indexes])
    pairs = [rng.randrange(1, size) for _ in range(proofs)]
    result["consistency"] = rate(proofs, lambda: [tree.prove_consistency(m, size) for m in pairs])
    return result


def gas_per_batch(batch_sizes: list[int]) -> list[tuple[int, int]]:
    """Gas of the one anchoring transaction of a batch of each size, on a real Anvil node."""
    binary = find_anvil()
    if binary is None:
        raise SystemExit(
            "install anvil first: npm install --prefix .deploy/anvil @foundry-rs/anvil"
        )
    node = ManagedAnvil(binary, state_file=None).start()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = SQLiteLogStore(Path(tmp) / "log.sqlite")
            log = TransparencyLog(store)
            anchorer = Anchorer(
                Web3Chain.connect(node.url), dev_account(), SQLiteAnchorStore(store)
            )
            signer = NoteSigner.from_seed("bench.local/log", bytes(32))
            for batch in batch_sizes:
                size = log.size()
                data = entries(batch)
                for start in range(0, batch, CHUNK):
                    chunk = data[start : start + CHUNK]
                    log.append(chunk, list(range(size + start + 1, size + start + len(chunk) + 1)))
                checkpoint_size, note = log.sign_checkpoint(signer, "bench.local/log")
                record = anchorer.open(checkpoint_size, note, [checkpoint_leaf(note)])
                while record.state != "confirmed":
                    record = anchorer.advance(record)
                inclusion = anchorer.chain.inclusion(record.tx_hash or "")
                assert inclusion is not None
                results.append((batch, inclusion.gas_used))
    finally:
        node.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--proofs", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(6962)
    rows = []
    for size in args.sizes:
        data = entries(size)
        with tempfile.TemporaryDirectory() as tmp:
            persistent_ours = ours(
                TransparencyLog(SQLiteLogStore(Path(tmp) / "ours.sqlite")), data, rng, args.proofs
            )
            persistent_theirs = theirs(
                SqliteTree(str(Path(tmp) / "pymerkle.sqlite")), data, rng, args.proofs
            )
        memory_ours = ours(TransparencyLog(MemoryLogStore()), data, rng, args.proofs)
        memory_theirs = theirs(InmemoryTree(), data, rng, args.proofs)
        rows.append((size, "persistent", persistent_ours, persistent_theirs))
        rows.append((size, "in memory", memory_ours, memory_theirs))

    print("entries   | storage    | operation   | credledger /s | pymerkle 7 /s | ratio")
    for size, kind, mine, other in rows:
        for operation in ("append", "root", "inclusion", "consistency"):
            print(
                f"{size:9} | {kind:10} | {operation:11} | {mine[operation]:13.0f} | "
                f"{other[operation]:13.0f} | {mine[operation] / other[operation]:5.1f}"
            )
    print()
    print("batch of entries | gas of its one anchoring transaction | gas per credential")
    for batch, gas in gas_per_batch([10, 1_000, 100_000]):
        print(f"{batch:16} | {gas:36} | {gas / batch:18.2f}")


if __name__ == "__main__":
    main()
