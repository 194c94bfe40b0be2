"""Liveness and readiness probes: live while the process answers; ready only while the
stores answer, the read model keeps up and the consumers run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from ledger.api import create_app
from ledger.domain import samples
from ledger.domain.commands import IssuerRegistration
from ledger.domain.signing import IssuerKey
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import Settings
from tests.conftest import RunningLedger, free_port, start_server, wait_for


@contextmanager
def served_unstarted(settings: Settings) -> Iterator[tuple[EmbeddedLedger, str]]:
    """The API over a ledger whose consumers were never started."""
    embedded = EmbeddedLedger(settings)
    server, thread, url = start_server(create_app(embedded.api_context()), free_port())
    try:
        yield embedded, url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        embedded.stop()


def test_live_and_ready_answer_200_while_everything_runs(ledger: RunningLedger) -> None:
    storage = ledger.embedded.storage
    # The ledger stores its anchoring key's adoption as it starts: once the read model has it,
    # nothing is behind.
    wait_for(
        lambda: (
            storage.read_model.position() >= (storage.ledger.recorder.max_notification_id() or 0)
        )
    )
    assert httpx.get(f"{ledger.url}/health/live").json() == {"status": "live"}
    ready = httpx.get(f"{ledger.url}/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "read_model_lag": 0}


def test_the_old_health_route_keeps_answering(ledger: RunningLedger) -> None:
    assert httpx.get(f"{ledger.url}/health").json()["status"] == "ok"


def test_not_ready_names_each_consumer_that_is_not_running(settings: Settings) -> None:
    with served_unstarted(settings) as (_, url):
        answer = httpx.get(f"{url}/health/ready")
        assert httpx.get(f"{url}/health/live").status_code == 200
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "not-ready"
    assert set(problem["not_ready"]) == {
        "consumer: read-model-projector is not running",
        "consumer: log-consumer is not running",
        "consumer: anchor-consumer is not running",
    }


def test_not_ready_while_the_read_model_is_further_behind_than_allowed(
    settings: Settings,
) -> None:
    strict = settings.model_copy(update={"ready_max_lag_events": 0})
    with served_unstarted(strict) as (embedded, url):
        registration = samples.issuer_registration(IssuerKey.generate().address)
        embedded.storage.ledger.register_issuer(IssuerRegistration.model_validate(registration))
        problem = httpx.get(f"{url}/health/ready").json()
    assert any(reason.startswith("read model: ") for reason in problem["not_ready"])
