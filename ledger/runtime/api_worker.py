"""An API worker process: the HTTP API over the shared stores, without any consumer.

``credledger serve --workers N`` runs N of these under uvicorn while the consumers (the Kafka
relay, the log and anchor consumers, the read-model projector) run once, in the serving
process or in ``credledger consume``. Workers write commands to the shared event store and
read the shared read model; the database keeps them correct together (an aggregate version is
written once, a command id's receipt once). The parent passes what a worker cannot find out
alone (the chain it anchors on) in ``CREDLEDGER_WORKER_CHAIN``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from anchors.chain_view import RecentChainView
from anchors.checkpoint import NoteSigner
from anchors.ethereum import Web3Chain
from consumers.follower import NotificationFollower
from consumers.kafka_relay import RELAY
from consumers.projector import ReadModelProjector
from ledger.api import create_app
from ledger.api.app_context import ApiContext
from ledger.application.storage import Storage, open_storage
from ledger.operations import heap, logs
from ledger.settings import Settings

WORKER_CHAIN = "CREDLEDGER_WORKER_CHAIN"


def chain_description(chain_info: dict[str, Any], rpc_url: str | None) -> str:
    """What a worker is told of the chain: where to read it, and what the API publishes."""
    return json.dumps({"rpc_url": rpc_url, "info": chain_info})


def worker_context(settings: Settings, storage: Storage) -> ApiContext:
    """The API's context in a worker: shared stores, and the read model waited for."""
    from ledger.runtime.embedded import tlog_witness_keys, trusted_witnesses

    described = json.loads(os.environ.get(WORKER_CHAIN, "{}"))
    rpc_url = described.get("rpc_url")
    signer = NoteSigner.from_seed(settings.log_origin_value(), settings.log_key_seed())
    on_write: Callable[[], int | None] = lambda: None  # noqa: E731 (Kafka: consumers follow)
    if settings.transport == "embedded":
        # In process, a worker brings the read model up to its own write (projectors take
        # turns by compare-and-set, so several of them never apply an event twice).
        projector = ReadModelProjector(NotificationFollower(storage.ledger), storage.read_model)
        on_write = projector.catch_up
    return ApiContext(
        ledger=storage.ledger,
        read_model=storage.read_model,
        log=storage.log,
        anchors=storage.anchors,
        wallet_sessions=storage.wallet_sessions,
        chain=RecentChainView(Web3Chain.connect(rpc_url)) if rpc_url else None,
        confirmations=settings.confirmations,
        log_origin=settings.log_origin_value(),
        witnesses=trusted_witnesses(settings),
        witness_quorum=settings.witness_quorum,
        tlog_witnesses=tuple(verifier.vkey for _, verifier in tlog_witness_keys(settings)),
        chain_info=described.get("info", {}),
        log_verifier_key=signer.verifier_key(),
        settings=settings,
        admin_token=settings.admin_token_value(),
        on_write=on_write,
        consistency_wait=15.0,
        relay_position=(
            (lambda: storage.read_model.tracked(RELAY)) if settings.transport == "kafka" else None
        ),
    )


def app() -> FastAPI:
    """The application factory uvicorn calls in each worker (settings from the environment)."""
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    storage = open_storage(settings)
    app = create_app(worker_context(settings, storage), on_shutdown=storage.close)
    heap.settle()
    return app
