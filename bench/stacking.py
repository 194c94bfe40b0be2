"""Stacking: evaluations per second of a 10-component stack, beside verifying the same ten
documents one by one with ``POST /verify``.

``credledger serve`` runs in its own process, pinned to one core (``taskset``), on the embedded
default (SQLite, a managed Anvil node, whose chain outlives a restart). Four issuers issue ten
micro-credentials (5 ECTS each) to one learner; everything is anchored; the learner's ten
Blockcerts documents are fetched and a pathway of 50 ECTS is published. Then, over one
keep-alive connection:

- cold: a learner's ten documents evaluated for the first time (every component verified in
  full, opened to the learner, counted; the chain view expired), one learner after another;
- first after a start: the server restarted, its first request that evaluation;
- warm: the same evaluation repeated, evaluations per second;
- the baseline: the ten documents verified one after another by ``POST /verify`` (what a
  verifier does today before adding credits up by hand), in the same warm server.

There is no peer that evaluates stacks (the issue names none: Blockcerts, Europass and the
wallets do not); the baseline is the ledger's own document verification, which every
evaluation includes ten times.

    .venv/bin/python bench/stacking.py [--rounds 200] [--cold 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serve_process import free_port, start_server

from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.codelists import ECTS
from ledger.domain.signing import IssuerKey
from ledger.settings import Settings, create_secrets

LEARNER = {"identifier": "learner-bench-1", "full_name": "Aoife Ní Chonaill"}
TARGET = {
    "title": "Postgraduate Certificate in Data Science",
    "eqf_level": "http://data.europa.eu/snb/eqf/7",
    "thematic_area": "http://data.europa.eu/snb/isced-f/0613",
}
RULES = {
    "credits": [{"framework": ECTS, "minimum": "50"}],
    "max_points_per_provider": [{"framework": ECTS, "maximum": "15"}],
    "max_component_age_days": "1825",
}


CHAIN_VIEW_SECONDS = 2.1  # longer than the API's view of the chain keeps anything


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def holdings(url: str, data_dir: Path, learners: int) -> tuple[str, list[list[dict[str, Any]]]]:
    """Ten anchored credentials of each learner from four issuers, their documents, and a
    pathway they meet; (pathway id, each learner's documents)."""
    admin = LedgerClient(url, admin_token=Settings(data_dir=data_dir).admin_token_value())
    client = LedgerClient(url, timeout=60)
    signers = []
    for name in ("University of Aran", "Boyne Academy", "Corrib College", "Shannon School"):
        key = IssuerKey.generate()
        registration = {**samples.issuer_registration(key.address), "legal_name": name}
        signers.append(CommandSigner(key, admin.register_issuer(registration)["issuer_id"]))
    issued = datetime.now(UTC).replace(microsecond=0)
    made = []
    for learner in range(learners):
        person = {**LEARNER, "identifier": f"learner-bench-{learner}"}
        for index in range(10):
            signer = signers[index % 4]
            body = samples.credential_content(issued, title=f"Module {index + 1}")
            made.append((signer, client.issue(signer.issue(body, person))["credential_id"]))
    documents: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    for signer, credential_id in made:
        while True:
            (item,) = client.documents(signer.read_documents([{"credential_id": credential_id}]))
            if "document" in item:
                documents.append(item["document"])
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"no document for {credential_id}: {item}")
            time.sleep(0.5)
    pathway = client.publish_pathway(signers[0].publish_pathway(TARGET, RULES))["pathway_id"]
    return str(pathway), [documents[i : i + 10] for i in range(0, len(documents), 10)]


def post(connection: http.client.HTTPConnection, path: str, body: dict[str, Any]) -> Any:
    connection.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    assert response.status == 200, answer
    return answer


def evaluation_seconds(port: int, pathway_id: str, documents: list[dict[str, Any]]) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    started = time.perf_counter()
    answer = post(connection, f"/pathways/{pathway_id}/evaluations", {"documents": documents})
    seconds = time.perf_counter() - started
    connection.close()
    assert answer["met"] is True, answer["missing"]
    return seconds


def warm_rate(port: int, pathway_id: str, documents: list[dict[str, Any]], rounds: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    body = {"documents": documents}
    post(connection, f"/pathways/{pathway_id}/evaluations", body)
    started = time.perf_counter()
    for _ in range(rounds):
        assert post(connection, f"/pathways/{pathway_id}/evaluations", body)["met"] is True
    seconds = time.perf_counter() - started
    connection.close()
    return rounds / seconds


def verification_rate(port: int, documents: list[dict[str, Any]], rounds: int) -> float:
    """Sets of ten documents verified one by one per second."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for document in documents:
        post(connection, "/verify", {"document": document})
    started = time.perf_counter()
    for _ in range(rounds):
        for document in documents:
            assert post(connection, "/verify", {"document": document})["verdict"] == "valid"
    seconds = time.perf_counter() - started
    connection.close()
    return rounds / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="warm evaluations timed")
    parser.add_argument("--cold", type=int, default=5, help="learners evaluated cold")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        create_secrets(data_dir)
        port = free_port()
        server = start_server(data_dir, port, chain="anvil")
        try:
            url = f"http://127.0.0.1:{port}"
            pathway_id, sets = holdings(url, data_dir, args.cold + 1)
            print("ten anchored components per learner ready", file=sys.stderr, flush=True)
            cold = []
            for documents in sets[:-1]:
                time.sleep(CHAIN_VIEW_SECONDS)
                cold.append(evaluation_seconds(port, pathway_id, documents))
            documents = sets[-1]
            stop(server)
            server = start_server(data_dir, port, chain="anvil")
            first = evaluation_seconds(port, pathway_id, documents)
            warm = warm_rate(port, pathway_id, documents, args.rounds)
            verified = verification_rate(port, documents, max(10, args.rounds // 4))
        finally:
            stop(server)
    print(
        f"cold evaluation, 10 components:       {1000 * statistics.median(cold):8.0f} ms median "
        f"({', '.join(f'{1000 * s:.0f}' for s in cold)})"
    )
    print(f"first request after a start:          {1000 * first:8.0f} ms")
    print(f"warm evaluations, 10 components:      {warm:8.1f} /s")
    print(f"POST /verify of the ten, one by one:  {verified:8.1f} sets/s")
    print(f"evaluation / verification:            {warm / verified:8.2f}")


if __name__ == "__main__":
    main()
