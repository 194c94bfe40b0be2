"""The scale-out deployment, for real: PostgreSQL, Apache Kafka and Anvil from deploy/, API
workers and consumers as separate `credledger` processes, and the checks every run ends with."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import UnknownTopicOrPartitionError

from anchors.anvil import dev_account
from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from consumers.envelope import StoredEnvelopes
from ledger.application.storage import Storage, open_storage
from ledger.client import CommandSigner, LedgerClient, LedgerRequestError
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.settings import Settings, create_secrets
from tests.conftest import LEARNER, PG_PORT, _admin_sql, content, free_port

ROOT = Path(__file__).resolve().parents[2]
ANVIL_PORT = 28545


def deploy(service: str, action: str) -> None:
    """Start or stop a service with its deploy script (idempotent)."""
    print(time.strftime("%H:%M:%S"), "deploy", service, action, flush=True)
    subprocess.run(["bash", str(ROOT / "deploy" / f"{service}.sh"), action], check=True)
    print(time.strftime("%H:%M:%S"), "deploy", service, action, "done", flush=True)


@contextmanager
def service_up(service: str) -> Iterator[None]:
    """The service running while inside; stopped after only if it was started here (a test
    run outside tests/run.sh leaves nothing behind, one inside keeps the script's services)."""
    script = ["bash", str(ROOT / "deploy" / f"{service}.sh")]
    already = subprocess.run([*script, "status"], capture_output=True).returncode == 0
    if not already:
        deploy(service, "start")
    try:
        yield
    finally:
        if not already:
            deploy(service, "stop")


def delete_topic(topic: str, bootstrap: str = "127.0.0.1:29092") -> None:
    """Delete a test's topic from the broker (its files go once the broker gets to it), so
    that runs leave no topics behind on a broker kept between them."""

    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        except UnknownTopicOrPartitionError:
            pass
        finally:
            await admin.close()

    asyncio.run(delete())


@dataclass
class Cluster:
    """One ledger on PostgreSQL + Kafka + Anvil, with its own database and topic."""

    work: Path
    database: str = field(default_factory=lambda: f"e2e_{uuid.uuid4().hex[:12]}")
    topic: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex[:12]}")
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _admin_sql(f"CREATE DATABASE {self.database} OWNER credledger")
        create_secrets(self.data_dir)

    @property
    def data_dir(self) -> Path:
        return self.work / "data"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CREDLEDGER_STORE": "postgres",
            "CREDLEDGER_POSTGRES_PORT": str(PG_PORT),
            "CREDLEDGER_POSTGRES_DBNAME": self.database,
            "CREDLEDGER_POSTGRES_USER": "credledger",
            "CREDLEDGER_POSTGRES_PASSWORD": "credledger",
            "CREDLEDGER_TRANSPORT": "kafka",
            "CREDLEDGER_KAFKA_TOPIC": self.topic,
            "CREDLEDGER_KAFKA_PROJECTOR_GROUP": f"{self.topic}-read-model",
            "CREDLEDGER_CHAIN": "rpc",
            "CREDLEDGER_CHAIN_RPC_URL": f"http://127.0.0.1:{ANVIL_PORT}",
            "CREDLEDGER_CHAIN_PRIVATE_KEY": dev_account(7).key.hex(),
            "CREDLEDGER_BATCH_AGE_SECONDS": "1",
            "CREDLEDGER_ANCHOR_REPLACE_AFTER_SECONDS": "5",
        }

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            store="postgres",
            postgres_port=PG_PORT,
            postgres_dbname=self.database,
            postgres_user="credledger",
            postgres_password="credledger",  # type: ignore[arg-type]
            chain="rpc",
        )

    def start(self, name: str, *arguments: str) -> None:
        log = (self.work / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", *arguments, "--data-dir", str(self.data_dir)],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def serve(self, *, consumers: bool = True) -> None:
        arguments = ["serve", "--port", str(self.port), "--workers", "2"]
        self.start("api", *arguments, *(() if consumers else ("--no-consumers",)))
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.processes["api"].poll() is None, (self.work / "api.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the API did not come up"
            time.sleep(0.25)

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signum)
        process.wait(timeout=30)

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM if name == "api" else signal.SIGINT)

    def close(self) -> None:
        self.stop()
        _admin_sql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        delete_topic(self.topic)

    def admin(self) -> LedgerClient:
        token = self.settings().admin_token_value()
        return LedgerClient(self.url, admin_token=token, timeout=60)


@dataclass
class Load:
    """Credentials issued through the API by concurrent clients, retried until accepted."""

    cluster: Cluster
    signer: CommandSigner
    accepted: dict[str, str] = field(default_factory=dict)  # command id -> credential id
    refusals: list[int] = field(default_factory=list)

    @classmethod
    def register(cls, cluster: Cluster) -> Load:
        key = IssuerKey.generate()
        with cluster.admin() as admin:
            entry = admin.register_issuer(samples.issuer_registration(key.address))
        return cls(cluster, CommandSigner(key, entry["issuer_id"]))

    def _batch(self, number: int, size: int) -> list[dict[str, Any]]:
        return [
            self.signer.issue(
                content(),
                {**LEARNER, "identifier": f"e2e-{number}-{i}"},
                command_id=f"e2e-{number}-{i}",
            )
            for i in range(size)
        ]

    def _send(self, number: int, size: int) -> None:
        bodies = self._batch(number, size)
        deadline = time.monotonic() + 240
        with LedgerClient(self.cluster.url, timeout=60) as client:
            while True:
                assert time.monotonic() < deadline, f"bulk request {number} never accepted"
                try:
                    results = client.bulk_issue(bodies)
                except (LedgerRequestError, httpx.HTTPError) as exc:
                    # An outage: the same commands again (their ids make it safe).
                    self.refusals.append(getattr(exc, "status", 0))
                    time.sleep(0.5)
                    continue
                if all(r["ok"] for r in results):
                    break
                self.refusals.extend(r["problem"]["status"] for r in results if not r["ok"])
                time.sleep(0.5)
        for body, result in zip(bodies, results, strict=True):
            self.accepted[body["command"]["command_id"]] = result["result"]["credential_id"]

    def issue(self, batches: int, size: int = 100, clients: int = 8) -> Iterator[int]:
        """Issue ``batches`` bulk requests; yields how many are done as they finish."""
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(self._send, n, size) for n in range(batches)]
            try:
                for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                    future.result()
                    yield done
            finally:
                pool.shutdown(cancel_futures=True)


def settled(storage: Storage) -> bool:
    """Every event but anchoring bookkeeping anchored; log and read model at the store's end."""
    recorder = storage.ledger.recorder
    stored = recorder.select_notifications(start=None, limit=10_000_000)
    substantive = [n for n in stored if ":BatchAnchor." not in n.topic]
    index = storage.log.store.index_of(substantive[-1].id)
    if index is None or storage.anchors.covering(index) is None:
        return False
    last = recorder.max_notification_id() or 0
    return storage.log.position() == last and storage.read_model.position() == last


def wait_settled(cluster: Cluster, timeout: float = 300) -> Storage:
    storage = open_storage(cluster.settings())
    deadline = time.monotonic() + timeout
    while not settled(storage):
        assert time.monotonic() < deadline, "the ledger did not settle"
        time.sleep(1)
    return storage


def check_everything(cluster: Cluster, load: Load) -> None:
    """No event lost, none doubled, every credential anchored exactly once, the audit clean,
    and the log's root that of a replay of the store through the embedded path."""
    storage = wait_settled(cluster)
    try:
        app = storage.ledger
        stored = app.recorder.select_notifications(start=None, limit=10_000_000)
        issued = [n for n in stored if n.topic.endswith("Credential.Issued")]
        # Lost or doubled: exactly one issue event per accepted command, and nothing else.
        assert len(issued) == len(load.accepted) == len(set(load.accepted.values()))
        assert {str(n.originator_id) for n in issued} == set(load.accepted.values())
        # The log holds each stored event once, in the store's order.
        assert storage.log.size() == len(stored)
        entries = storage.log.store.entries(0, storage.log.size())
        replay = TransparencyLog(MemoryLogStore())
        read = StoredEnvelopes(app)
        while batch := read(replay.size(), 2000):
            replay.append([e for _, e in batch], [p for p, _ in batch])
        assert replay.root() == storage.log.root()
        assert entries == replay.store.entries(0, replay.size())
        # Anchored exactly once: each credential's document is a leaf of exactly one batch.
        documented: dict[str, int] = {}
        for size, _ in storage.log.store.checkpoints(0, 1_000_000):
            record = storage.anchors.get(size)
            assert record is not None and record.state == "recorded", size
            for document in record.documents:
                documented[document["credential_id"]] = (
                    documented.get(document["credential_id"], 0) + 1
                )
        assert set(documented) == set(load.accepted.values())
        assert set(documented.values()) == {1}
    finally:
        storage.close()
    command = [sys.executable, "-m", "ledger.cli", "audit", "--data-dir", str(cluster.data_dir)]
    audited = subprocess.run(
        [*command, "--rpc", f"http://127.0.0.1:{ANVIL_PORT}"],
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert audited.returncode == 0, audited.stdout[-2000:] + audited.stderr[-2000:]
