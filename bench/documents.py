"""Credential documents per second: Blockcerts beside cert-issuer 3.13, Europass EDC beside
EU DSS 6.2.

One run, the same batch of credentials. credledger builds each credential version's document
from its stored content and learner data and hashes it: its quads written directly from the
JSON (the ledger's own document shape) as canonical N-Quads terms and labelled by RDFC-1.0
(URDNA2015), in C (anchors/rdfc_tree.c, anchors/rdfc_native.c) where it was built; the same
again by the Python writer and labelling that are the C's oracles; and through the general path
(contexts pruned to the terms used, parsed and canonicalized by pyoxigraph), which must give
the same leaves; cert-issuer 3.13, in a virtual environment of its own (it pins another web3),
is given the very same documents and runs its ``prepare_batch`` steps: validation, pyld
URDNA2015 normalization and hashing, the Merkle tree. Both must give the same leaves and root,
or the run fails. Reports documents per second, the ratio and where the time
goes on each side.

Then the EDC format, in the same run: ELM credentials built, sealed (JAdES baseline B, ES256
and RS256) and their seal digests computed per second on one core; EU DSS 6.2 (the Java
program in tests/interop/dss, built by the test command) seals the very same payloads with the
same keys in one warmed-up JVM, and its first seal must verify with credledger's reader. The
SHACL validation time per credential is reported (a test-time cost).

    .venv/bin/python bench/documents.py [--count 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from anchors import rdfc
from anchors.anchor_tree import AnchorTree
from anchors.jsonld import document_hash as general_hash
from anchors.rdfc import canonical_nquads_in_python
from ledger.domain.commitment import commit, new_salt
from ledger.domain.samples import credential_content
from ledger.formats.blockcerts.document import credential_document
from ledger.formats.blockcerts.document_quads import document_hash, ledger_nquads, ledger_quads
from ledger.formats.edc.credential import edc_credential
from ledger.formats.edc.demo_pki import DemoCA, SealIdentity
from ledger.formats.edc.seal import payload_bytes, read_sealed, seal, seal_holds
from ledger.formats.edc.shapes import violations

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


def credledger_batch(
    stored: list[dict[str, Any]], hashed_by: Callable[[dict[str, Any]], bytes] = document_hash
) -> tuple[dict[str, float], list[bytes]]:
    started = time.perf_counter()
    documents = [build(s) for s in stored]
    built = time.perf_counter()
    leaves = [hashed_by(d) for d in documents]
    hashed = time.perf_counter()
    AnchorTree.build(leaves)
    done = time.perf_counter()
    return {"build": built - started, "hash": hashed - built, "tree": done - hashed}, leaves


def python_hash(document: dict[str, Any]) -> bytes:
    """The document hash by the Python quad writer and labelling alone (the C's oracle)."""
    quads = ledger_quads(document)
    assert quads is not None
    return hashlib.sha256(canonical_nquads_in_python(quads).encode("utf-8")).digest()


def hash_breakdown(documents: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per stage of credledger's hash, over ``documents``: the quads written and
    labelled (in C where it was built), then SHA-256 of the text."""
    stages = ["quads written + RDFC-1.0" + (" (C)" if rdfc.NATIVE else ""), "SHA-256"]
    totals = dict.fromkeys(stages, 0.0)
    for document in documents:
        t0 = time.perf_counter()
        text = ledger_nquads(document)
        assert text is not None
        t1 = time.perf_counter()
        hashlib.sha256(text.encode("utf-8")).digest()
        t2 = time.perf_counter()
        for stage, seconds in zip(stages, (t1 - t0, t2 - t1), strict=True):
            totals[stage] += seconds
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stored = sources(args.count)
    python = cert_issuer_python()

    ours = [credledger_batch(stored) for _ in range(args.rounds)]
    in_python = [credledger_batch(stored, python_hash) for _ in range(args.rounds)]
    general = [credledger_batch(stored, general_hash) for _ in range(args.rounds)]
    leaves = ours[-1][1]
    if any(run[1] != leaves for run in general):
        raise SystemExit("the direct quads and the general JSON-LD path disagree on a leaf")
    if any(run[1] != leaves for run in in_python):
        raise SystemExit("the C and the Python writer disagree on a leaf")
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
        return float(args.count) / sum(timings.values())

    our_rates = [rate(t) for t, _ in ours]
    python_rates = [rate(t) for t, _ in in_python]
    general_rates = [rate(t) for t, _ in general]
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
        f"  same, Python writer + RDFC:    {statistics.median(python_rates):8.0f} documents/s  "
        + "(runs: "
        + ", ".join(f"{r:.0f}" for r in python_rates)
        + ")"
    )
    print(
        f"  same, general JSON-LD path:    {statistics.median(general_rates):8.0f} documents/s  "
        + "(runs: "
        + ", ".join(f"{r:.0f}" for r in general_rates)
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
        "credledger's hash, by stage:      "  # the direct quads
        + ", ".join(f"{k} {v / total:.0%}" for k, v in stages.items())
    )

    edc(stored)


ISSUER = {
    "issuer_id": "db5cf7be-8661-58d5-996e-0e26a6f13e99",
    "legal_name": "Example Technological University",
    "country": "http://publications.europa.eu/resource/authority/country/IRL",
    "region": "Leinster",
    "quality_assurance": [
        {
            "type": "http://data.europa.eu/snb/accreditation/bb4618238e",
            "body": "Quality and Qualifications Ireland",
            "reference": "https://www.deqar.eu/institutions/example",
        }
    ],
    "legal_identifier": {
        "notation": "VATIE-1234567X",
        "country": "http://publications.europa.eu/resource/authority/country/IRL",
    },
}
DSS = ROOT / ".deploy" / "dss"


def dss_seal_rate(identity: SealIdentity, payloads: list[bytes]) -> tuple[float, dict[str, Any]]:
    """EU DSS's seals per second over ``payloads`` with ``identity``, and its first seal."""
    if not (DSS / "classes" / "dev" / "credledger" / "dss" / "SealBench.class").is_file():
        sys.exit(
            f"EU DSS is not built in {DSS}: the README's test command (tests/run.sh) builds it"
        )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        key = folder / "key.der"
        key.write_bytes(
            identity.key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        certificate = folder / "cert.der"
        certificate.write_bytes(identity.certificate.public_bytes(serialization.Encoding.DER))
        files = []
        for index, payload in enumerate(payloads):
            path = folder / f"{index}.json"
            path.write_bytes(payload)
            files.append(str(path))
        out = folder / "first.jsonld"
        completed = subprocess.run(
            [
                "java",
                "-cp",
                f"{DSS / 'classes'}:{DSS / 'lib'}/*",
                "dev.credledger.dss.SealBench",
                str(key),
                str(certificate),
                str(out),
                *files,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            sys.exit(f"EU DSS's seal benchmark failed:\n{completed.stderr[-3000:]}")
        timing = json.loads(completed.stdout.strip().splitlines()[-1])
        first: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return timing["count"] / timing["seconds"], first


def edc(stored: list[dict[str, Any]]) -> None:
    """The EDC part of the run: build, seal, digest; EU DSS beside; SHACL per credential."""
    ca = DemoCA.create()
    identities = {
        "ES256": ca.issue_seal("Example TU", "VATIE-1234567X", "IE"),
        "RS256": ca.issue_seal("Example TU", "VATIE-1234567X", "IE", rsa_key=True),
    }
    started = time.perf_counter()
    credentials = [
        edc_credential(
            credential_id=f"00000000-0000-5000-8000-{i:012d}",
            version=1,
            content=s["content"],
            learner=s["learner"],
            salt=s["salt"],
            issuer=ISSUER,
        )
        for i, s in enumerate(stored)
    ]
    build = time.perf_counter() - started
    count = len(credentials)
    print(f"\nEDC: {count} credentials; build {count / build:8.0f} credentials/s")
    now = datetime.now(UTC)
    for name, identity in identities.items():
        started = time.perf_counter()
        sealed = [seal(c, identity.chain, identity.key, now) for c in credentials]
        sealing = time.perf_counter() - started
        started = time.perf_counter()
        digests = [read_sealed(s).digest for s in sealed]
        digesting = time.perf_counter() - started
        assert len(set(digests)) == count
        whole = count / (build + sealing + digesting)
        theirs, first = dss_seal_rate(identity, [payload_bytes(c) for c in credentials])
        if not seal_holds(read_sealed(first)):
            sys.exit("EU DSS's seal does not verify with credledger's reader: no comparison")
        ours = count / sealing
        print(
            f"{name}: credledger seal {ours:8.0f}/s, digest {count / digesting:8.0f}/s, "
            f"build + seal + digest {whole:8.0f} sealed credentials/s"
        )
        print(f"{name}: EU DSS 6.2 seal {theirs:8.0f}/s (warm JVM)   ratio: {ours / theirs:.2f}x")
    sample = credentials[: min(20, count)]
    started = time.perf_counter()
    for credential in sample:
        assert violations(credential) == []
    shacl = (time.perf_counter() - started) / len(sample)
    print(f"SHACL validation (pySHACL, EDC generic-full): {shacl * 1000:.0f} ms per credential")


if __name__ == "__main__":
    main()
