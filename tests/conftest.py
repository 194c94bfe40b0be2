"""Fixtures that start the real thing: the embedded ledger behind a real uvicorn HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from consumers.embedded import EmbeddedLedger
from ledger import samples
from ledger.api import create_app
from ledger.client import CommandSigner, LedgerClient
from ledger.settings import Settings, create_secrets
from ledger.signing import IssuerKey


@dataclass
class RunningLedger:
    """An embedded ledger served over HTTP on a free loopback port."""

    embedded: EmbeddedLedger
    url: str
    admin: LedgerClient
    public: LedgerClient
    data_dir: Path


@dataclass
class RegisteredIssuer:
    key: IssuerKey
    issuer_id: str
    signer: CommandSigner


def start_server(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    create_secrets(data_dir)
    return Settings(data_dir=data_dir)


@pytest.fixture
def ledger(settings: Settings) -> Iterator[RunningLedger]:
    embedded = EmbeddedLedger(settings).start()
    server, thread, url = start_server(create_app(embedded.api_context()))
    admin = LedgerClient(url, admin_token=settings.admin_token_value())
    public = LedgerClient(url)
    try:
        yield RunningLedger(embedded, url, admin, public, settings.data_dir)
    finally:
        admin.close()
        public.close()
        server.should_exit = True
        thread.join(timeout=10)
        embedded.stop()


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
