"""Fixtures that start the real thing: the embedded ledger behind a real uvicorn HTTP server."""

from __future__ import annotations

import ast
import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from anchors.anvil import ManagedAnvil, dev_account, find_anvil
from ledger.api import create_app
from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.persistence.read_model import ReadModel
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import Settings, create_secrets


@dataclass
class RunningLedger:
    """An embedded ledger served over HTTP on a free loopback port."""

    embedded: EmbeddedLedger
    url: str
    admin: LedgerClient
    public: LedgerClient
    data_dir: Path
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    def stop_http(self) -> None:
        """Stop answering HTTP (the ledger goes away for its clients)."""
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)


@dataclass
class RegisteredIssuer:
    key: IssuerKey
    issuer_id: str
    signer: CommandSigner


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(
    app: Any, port: int = 0, **tls: Any
) -> tuple[uvicorn.Server, threading.Thread, str]:
    """A real uvicorn server in a thread; ``tls`` takes uvicorn's ssl_certfile/ssl_keyfile."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **tls)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


# The suite runs on SQLite by default and on PostgreSQL with CREDLEDGER_TEST_STORE=postgres
# (tests/run.sh starts a local cluster with deploy/postgres.sh for that run).
STORE = os.environ.get("CREDLEDGER_TEST_STORE", "sqlite")
# For tests whose subject does not depend on the store: the SQLite pass runs them.
store_independent = pytest.mark.skipif(
    STORE != "sqlite", reason="does not depend on the store: the SQLite pass runs it"
)
# The longest of them go to the PostgreSQL pass instead, whose own tests take less time: the
# two passes run side by side, and the run lasts as long as the longer one.
store_independent_for_balance = pytest.mark.skipif(
    STORE != "postgres",
    reason="does not depend on the store: the PostgreSQL pass runs it (for the passes' balance)",
)
PG_PORT = int(os.environ.get("CREDLEDGER_POSTGRES_PORT", "25432"))


def _admin_sql(statement: str) -> None:
    import psycopg

    # As the cluster's superuser (trusted on loopback by deploy/postgres.sh): only it may end
    # an autovacuum worker still at work in a test database being dropped.
    with psycopg.connect(
        host="127.0.0.1", port=PG_PORT, dbname="postgres", user="postgres", autocommit=True
    ) as connection:
        connection.execute(statement)


@contextmanager
def databases() -> Iterator[Callable[[], dict[str, Any]]]:
    """Makes fresh, empty databases, dropped at the end: settings fields naming each."""
    created: list[str] = []

    def make() -> dict[str, Any]:
        if STORE != "postgres":
            return {}
        name = f"test_{uuid.uuid4().hex[:16]}"
        _admin_sql(f"CREATE DATABASE {name} OWNER credledger")
        created.append(name)
        return {
            "store": "postgres",
            "postgres_port": PG_PORT,
            "postgres_dbname": name,
            "postgres_user": "credledger",
            "postgres_password": "credledger",
        }

    try:
        yield make
    finally:
        for name in created:
            _admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database() -> Iterator[Callable[[], dict[str, Any]]]:
    """Makes fresh, empty databases for one test: settings fields naming each."""
    with databases() as make:
        yield make


@pytest.fixture
def settings(tmp_path: Path, database: Callable[[], dict[str, Any]]) -> Settings:
    data_dir = tmp_path / "data"
    create_secrets(data_dir)
    # eth-tester in process by default; tests of anchoring itself run a real Anvil node.
    # Batches close after a second (not ten): tests that wait for an anchor wait that long.
    return Settings(data_dir=data_dir, chain="in-process", batch_age_seconds=1.0, **database())


@pytest.fixture
def fresh_read_model(
    tmp_path: Path, database: Callable[[], dict[str, Any]]
) -> Iterator[Callable[[str], ReadModel]]:
    """Makes empty read models (a named one is reopened when asked for again)."""
    opened: dict[str, ReadModel] = {}
    fields: dict[str, dict[str, Any]] = {}

    def make(name: str) -> ReadModel:
        if name not in fields:
            fields[name] = database()
        settings = Settings(data_dir=tmp_path / name, **fields[name])
        backend = importlib.import_module(f"ledger.persistence.{settings.store}")
        model: ReadModel = backend.open_read_model(settings)
        opened[f"{name}-{len(opened)}"] = model
        return model

    yield make
    for model in opened.values():
        model.close()


@contextmanager
def running_ledger(settings: Settings) -> Iterator[RunningLedger]:
    """An embedded ledger on ``settings``, served over HTTP until the block ends."""
    # The port is chosen first: profiles and lists name the URL the ledger is reached at.
    port = free_port()
    settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    embedded = EmbeddedLedger(settings).start()
    server, thread, url = start_server(create_app(embedded.api_context()), port)
    admin = LedgerClient(url, admin_token=settings.admin_token_value())
    public = LedgerClient(url)
    try:
        yield RunningLedger(embedded, url, admin, public, settings.data_dir, server, thread)
    finally:
        admin.close()
        public.close()
        server.should_exit = True
        thread.join(timeout=10)
        embedded.stop()


@pytest.fixture
def ledger(settings: Settings) -> Iterator[RunningLedger]:
    with running_ledger(settings) as running:
        yield running


def register(ledger: RunningLedger, **overrides: Any) -> RegisteredIssuer:
    key = IssuerKey.generate()
    registration = {**samples.issuer_registration(key.address), **overrides}
    entry = ledger.admin.register_issuer(registration)
    return RegisteredIssuer(key, entry["issuer_id"], CommandSigner(key, entry["issuer_id"]))


@pytest.fixture
def issuer(ledger: RunningLedger) -> RegisteredIssuer:
    return register(ledger)


@pytest.fixture
def other_issuer(ledger: RunningLedger) -> RegisteredIssuer:
    return register(ledger, legal_name="Another Academy")


def content(**overrides: Any) -> dict[str, Any]:
    """A valid credential's content (without the learner), with fields replaced."""
    base = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
    base.update(overrides)
    return base


LEARNER = {"identifier": "learner-42", "full_name": "Siobhán Ó Súilleabháin"}


def issue(ledger: RunningLedger, issuer: RegisteredIssuer, **overrides: Any) -> str:
    """Issue a valid credential; returns its id."""
    learner = overrides.pop("learner", LEARNER)
    result = ledger.public.issue(issuer.signer.issue(content(**overrides), learner))
    return str(result["credential_id"])


def stored_events(ledger: RunningLedger) -> int:
    """How many events the store holds (notification ids may have gaps on PostgreSQL)."""
    recorder = ledger.embedded.storage.ledger.recorder
    return len(recorder.select_notifications(start=None, limit=1_000_000))


def modules_loaded(statements: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded once it has run ``statements``."""
    probe = f"import sys\n{statements}\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert isinstance(loaded, list)
    return loaded


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def anvil() -> Iterator[ManagedAnvil]:
    """A real Anvil node (the npm package tests/run.sh installs), chain id 31337."""
    binary = find_anvil()
    assert binary is not None, "anvil is installed by tests/run.sh (npm @foundry-rs/anvil)"
    node = ManagedAnvil(binary, state_file=None).start()
    yield node
    node.stop()


def settings_on(
    tmp_path: Path, database: Callable[[], dict[str, Any]], node: ManagedAnvil, **more: Any
) -> Settings:
    """Settings for a ledger that anchors small, quick batches on ``node``."""
    create_secrets(tmp_path / "data")
    fields: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "batch_size": 5,
        "batch_age_seconds": 0.5,
        "chain": "rpc",
        "chain_rpc_url": node.url,
        "chain_private_key": dev_account().key.hex(),
        "chain_id": 31337,
        **database(),
        **more,
    }
    return Settings(**fields)


@pytest.fixture
def anvil_settings(
    tmp_path: Path, database: Callable[[], dict[str, Any]], anvil: ManagedAnvil
) -> Settings:
    return settings_on(tmp_path, database, anvil)


def settled(embedded: EmbeddedLedger) -> bool:
    """Every event but anchoring bookkeeping is anchored, and the read model has seen the
    anchors' events too (they are stored before the anchor is marked recorded)."""
    storage = embedded.storage
    stored = storage.ledger.recorder.select_notifications(start=None, limit=1_000_000)
    substantive = [n for n in stored if ":BatchAnchor." not in n.topic]
    if not substantive:
        return True
    index = storage.log.store.index_of(substantive[-1].id)
    if index is None or storage.anchors.covering(index) is None:
        return False
    return storage.read_model.position() >= (storage.ledger.recorder.max_notification_id() or 0)


def anchored_everything(ledger: RunningLedger) -> bool:
    """Every stored event but anchoring bookkeeping is in a recorded anchor's batch."""
    storage = ledger.embedded.storage
    recorder = storage.ledger.recorder
    stored = recorder.select_notifications(start=None, limit=1_000_000)
    substantive = [n for n in stored if ":BatchAnchor." not in n.topic]
    if not substantive:
        return True
    index = storage.log.store.index_of(substantive[-1].id)
    return index is not None and storage.anchors.covering(index) is not None


ServeProcess = tuple[subprocess.Popen[bytes], str, str]


@contextmanager
def serving(
    data_dir: Path, env: dict[str, str], output: Any = subprocess.DEVNULL
) -> Iterator[ServeProcess]:
    """`credledger serve` as its own process over ``data_dir`` (created with its secrets if
    new), with ``env`` added to the environment, its log lines (standard error) to ``output``:
    (process, URL, admin token) once it answers; stopped (SIGTERM) at the end."""
    if not (data_dir / "secrets.json").is_file():
        create_secrets(data_dir)
    port = free_port()
    command = [sys.executable, "-m", "ledger.cli", "serve", "--data-dir", str(data_dir)]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=output,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/health/live", timeout=2)
            break
        except httpx.HTTPError:
            assert process.poll() is None, "credledger serve exited"
            assert time.monotonic() < deadline, "credledger serve did not answer"
            time.sleep(0.2)
    token = json.loads((data_dir / "secrets.json").read_text())["admin_token"]
    try:
        yield process, url, token
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    """`credledger serve` as its own process (embedded, in-process chain): (process, URL,
    admin token)."""
    env = {"CREDLEDGER_CHAIN": "in-process", "CREDLEDGER_BATCH_AGE_SECONDS": "60"}
    with serving(tmp_path / "data", env) as running:
        yield running


@pytest.fixture(scope="module")
def scale_out_services() -> Iterator[None]:
    """Kafka and Anvil from their deploy scripts, for the scale-out deployment's tests
    (PostgreSQL is up for their pass); what was started here is stopped after."""
    from tests.e2e.cluster import service_up

    with service_up("kafka"), service_up("anvil"):
        yield


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain static file server (Python's http.server) over an empty directory."""
    root = tmp_path / "www"
    (root / "tlog").mkdir(parents=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/"), timeout=30)
        yield root / "tlog", f"http://127.0.0.1:{port}/tlog"
    finally:
        server.terminate()
        server.wait(timeout=10)


def answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False
