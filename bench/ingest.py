"""Ingest benchmark: bulk issuance through the ledger vs a bare eventsourcing application.

Both run in one process, on SQLite in fresh temporary directories, on the same pre-signed
commands (signing is the issuer's cost, not the ledger's). The ledger validates every command,
verifies its commitment and signature, encrypts the learner's data and stores the events; the
bare application stores one equivalent event per credential with no checks at all. Then the
HTTP API is measured with single-credential requests and with bulk requests of 100.

    .venv/bin/python bench/ingest.py [--credentials 20000] [--http-requests 1000]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from consumers.embedded import EmbeddedLedger
from ledger import samples
from ledger.api import create_app
from ledger.client import CommandSigner, LedgerClient
from ledger.commands import IssuerRegistration, SignedCommand
from ledger.settings import Settings, create_secrets
from ledger.signing import IssuerKey
from tests.conftest import start_server

BATCH = 100


class BareCredential(Aggregate):
    @event("Issued")
    def __init__(self, issuer_id: str, command: dict[str, Any], signature: str) -> None:
        self.issuer_id = issuer_id


class BareApplication(Application[Any]):
    pass


def signed_commands(signer: CommandSigner, count: int) -> list[dict[str, Any]]:
    content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
    return [
        signer.issue(content, {"identifier": f"s{i:07}", "full_name": f"Learner Number {i}"})
        for i in range(count)
    ]


def timed(work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def ledger_ingest(embedded: EmbeddedLedger, bodies: list[dict[str, Any]]) -> float:
    ledger = embedded.storage.ledger

    def run() -> None:
        for start in range(0, len(bodies), BATCH):
            items = [SignedCommand(**b) for b in bodies[start : start + BATCH]]
            outcomes = ledger.issue_many(items)
            assert all(not isinstance(o, Exception) for o in outcomes), outcomes[:1]

    return timed(run)


def bare_ingest(directory: Path, bodies: list[dict[str, Any]]) -> float:
    app = BareApplication(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(directory / "bare.sqlite"),
        }
    )

    def run() -> None:
        for start in range(0, len(bodies), BATCH):
            app.save(
                *(
                    BareCredential(
                        issuer_id=b["command"]["issuer_id"],
                        command=b["command"],
                        signature=b["signature"],
                    )
                    for b in bodies[start : start + BATCH]
                )
            )

    return timed(run)


def http_single(url: str, bodies: list[dict[str, Any]]) -> float:
    with httpx.Client(base_url=url, timeout=60) as http:

        def run() -> None:
            for body in bodies:
                assert http.post("/credentials", json=body).status_code == 201

        return timed(run)


def http_bulk(url: str, bodies: list[dict[str, Any]]) -> float:
    client = LedgerClient(url)

    def run() -> None:
        for start in range(0, len(bodies), BATCH):
            results = client.bulk_issue(bodies[start : start + BATCH])
            assert all(r["ok"] for r in results)

    return timed(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=20_000)
    parser.add_argument("--http-requests", type=int, default=1_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        create_secrets(root / "ledger")
        settings = Settings(data_dir=root / "ledger")
        key = IssuerKey.generate()
        with EmbeddedLedger(settings) as embedded:
            issuer = embedded.storage.ledger.register_issuer(
                IssuerRegistration(**samples.issuer_registration(key.address))
            )
            signer = CommandSigner(key, str(issuer.id))
            n = args.credentials
            print(f"signing {n + 2 * args.http_requests} commands ...", file=sys.stderr)
            bodies = signed_commands(signer, n + 2 * args.http_requests)
            work, single, bulk = (
                bodies[:n],
                bodies[n : n + args.http_requests],
                bodies[n + args.http_requests :],
            )

            bare_seconds = bare_ingest(root, work)
            ledger_seconds = ledger_ingest(embedded, work)
            embedded.projector.catch_up()

            server, thread, url = start_server(create_app(embedded.api_context()))
            try:
                single_seconds = http_single(url, single)
                bulk_seconds = http_bulk(url, bulk)
            finally:
                server.should_exit = True
                thread.join()

    ledger_rate, bare_rate = n / ledger_seconds, n / bare_seconds
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"credentials: {n}, batches of {BATCH}, SQLite")
    print(f"ledger (validation + signatures + vault + events): {ledger_rate:8.0f} credentials/s")
    print(f"bare eventsourcing (events only, no checks):       {bare_rate:8.0f} credentials/s")
    print(f"ratio ledger / bare:                               {ledger_rate / bare_rate:8.2f}")
    print(
        f"HTTP, one credential per request (sequential):     "
        f"{len(single) / single_seconds:8.0f} credentials/s"
    )
    print(
        f"HTTP, bulk requests of {BATCH} (sequential):          "
        f"{len(bulk) / bulk_seconds:8.0f} credentials/s"
    )


if __name__ == "__main__":
    main()
