"""Blockcerts documents produced and hashed per second: credledger beside cert-issuer 3.13.

One run, the same batch of credentials. credledger builds each credential version's document
from its stored content and learner data and hashes it (URDNA2015 in pyoxigraph, contexts
pruned to the terms used); cert-issuer 3.13, in a virtual environment of its own (it pins
another web3), is given the very same documents and runs its ``prepare_batch`` steps:
validation, pyld URDNA2015 normalization and hashing, the Merkle tree. Both must give the same
leaves and root, or the run fails. Reports documents per second, the ratio and where the time
goes on each side.

    .venv/bin/python bench/documents.py [--count 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph

from anchors.anchor_tree import AnchorTree
from anchors.jsonld import document_hash, json_ld_text
from ledger.domain.commitment import commit, new_salt
from ledger.domain.samples import credential_content
from ledger.formats.blockcerts.document import credential_document

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".deploy" / "cert-issuer-venv"
NAMES = ["Zoë Ångström", "Łukasz Żółć", "Nguyễn Thị Minh", "李小龙", "Séamus Ó Briain", "Ana Núñez"]


def cert_issuer_python() -> Path:
    """cert-issuer 3.13's interpreter, installing it into its own venv the first time."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "cert-issuer==3.13.0"], check=True
        )
    return python


def sources(count: int) -> list[dict[str, Any]]:
    """What the ledger holds for ``count`` credentials: content, learner data, salt."""
    issued = datetime.now(UTC).replace(microsecond=0)
    stored = []
    for i in range(count):
        learner = {"identifier": f"student-{i:06d}", "full_name": NAMES[i % len(NAMES)]}
        salt = new_salt()
        content = credential_content(issued, title=f"Applied Machine Learning {i % 40}")
        content["learner"] = {"commitment": commit(learner, salt)}
        stored.append(
            {"id": f"credential-{i}", "content": content, "learner": learner, "salt": salt}
        )
    return stored


def build(source: dict[str, Any]) -> dict[str, Any]:
    return credential_document(
        credential_id=source["id"],
        version=1,
        content=source["content"],
        learner=source["learner"],
        salt=source["salt"],
        issuer_profile_url="https://ledger.example.eu/issuers/1f0e/profile",
    )


def credledger_batch(stored: list[dict[str, Any]]) -> tuple[dict[str, float], list[bytes]]:
    started = time.perf_counter()
    documents = [build(s) for s in stored]
    built = time.perf_counter()
    leaves = [document_hash(d) for d in documents]
    hashed = time.perf_counter()
    AnchorTree.build(leaves)
    done = time.perf_counter()
    return {"build": built - started, "hash": hashed - built, "tree": done - hashed}, leaves


def hash_breakdown(documents: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per stage of credledger's hash, over ``documents``."""
    totals = {"context pruning + JSON text": 0.0, "JSON-LD parse": 0.0, "RDFC-1.0": 0.0}
    totals["N-Quads + sort + SHA-256"] = 0.0
    for document in documents:
        unproved = {k: v for k, v in document.items() if k != "proof"}
        t0 = time.perf_counter()
        text = json_ld_text(unproved)
        t1 = time.perf_counter()
        dataset = pyoxigraph.Dataset(pyoxigraph.parse(text, format=pyoxigraph.RdfFormat.JSON_LD))
        t2 = time.perf_counter()
        dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
        t3 = time.perf_counter()
        document_hash(unproved)  # the whole, for the remainder below
        t4 = time.perf_counter()
        totals["context pruning + JSON text"] += t1 - t0
        totals["JSON-LD parse"] += t2 - t1
        totals["RDFC-1.0"] += t3 - t2
        totals["N-Quads + sort + SHA-256"] += max(0.0, (t4 - t3) - (t3 - t0))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stored = sources(args.count)
    python = cert_issuer_python()

    ours = [credledger_batch(stored) for _ in range(args.rounds)]
    leaves = ours[-1][1]
    documents = [build(s) for s in stored]
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "documents.json"
        batch.write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
        script = ROOT / "bench" / "cert_issuer_batch.py"
        completed = subprocess.run(
            [str(python), str(script), str(batch), str(args.rounds)],
            capture_output=True,
            text=True,
            check=True,
        )
    theirs = json.loads(completed.stdout)
    same_leaves = theirs["leaves"] == [leaf.hex() for leaf in leaves]
    same_root = theirs["root"] == AnchorTree.build(leaves).root.hex()
    if not (same_leaves and same_root):
        sys.exit("cert-issuer and credledger disagree on the leaves or the root: no comparison")

    def rate(timings: dict[str, float]) -> float:
        return args.count / sum(timings.values())

    our_rates = [rate(t) for t, _ in ours]
    their_rates = [rate(t) for t in theirs["timings"]]
    ours_median = statistics.median(our_rates)
    theirs_median = statistics.median(their_rates)
    print(f"{args.count} documents, {args.rounds} rounds; leaves and root identical: yes")
    print(
        f"credledger  build + hash + tree: {ours_median:8.0f} documents/s  (runs: "
        + ", ".join(f"{r:.0f}" for r in our_rates)
        + ")"
    )
    print(
        f"cert-issuer prepare_batch:       {theirs_median:8.0f} documents/s  (runs: "
        + ", ".join(f"{r:.0f}" for r in their_rates)
        + ")"
    )
    print(f"ratio: {ours_median / theirs_median:.2f}x")
    last_ours, last_theirs = ours[-1][0], theirs["timings"][-1]
    print(
        "where the time goes, credledger:  "
        + ", ".join(f"{k} {v / sum(last_ours.values()):.0%}" for k, v in last_ours.items())
    )
    print(
        "where the time goes, cert-issuer: "
        + ", ".join(f"{k} {v / sum(last_theirs.values()):.0%}" for k, v in last_theirs.items())
    )
    stages = hash_breakdown(documents[: min(500, args.count)])
    total = sum(stages.values())
    print(
        "credledger's hash, by stage:      "
        + ", ".join(f"{k} {v / total:.0%}" for k, v in stages.items())
    )


if __name__ == "__main__":
    main()
