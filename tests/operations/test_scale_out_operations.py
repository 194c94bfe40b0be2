"""Operating the scale-out deployment (PostgreSQL, Kafka, Anvil from deploy/, two API workers
and the consumers as processes): Prometheus sees one sum across the processes, and readiness
follows PostgreSQL going away and coming back while liveness stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import STORE
from tests.e2e.cluster import Cluster, Load, deploy
from tests.operations.prometheus import running_prometheus

pytestmark = pytest.mark.skipif(
    STORE != "postgres", reason="the scale-out deployment runs in the PostgreSQL pass"
)


@pytest.fixture
def cluster(tmp_path: Path, scale_out_services: None) -> Iterator[Cluster]:
    running = Cluster(tmp_path)
    running.serve()
    yield running
    running.close()


def test_prometheus_sums_what_two_workers_and_the_consumers_counted(
    cluster: Cluster, tmp_path: Path
) -> None:
    with running_prometheus(tmp_path / "prometheus", [f"127.0.0.1:{cluster.port}"], None) as p:
        load = Load.register(cluster)
        for _ in load.issue(batches=4, size=50):
            pass
        issued = len(load.accepted)
        assert issued == 200
        query = 'sum(credledger_commands_total{type="issue",outcome="accepted"})'
        p.wait(lambda: p.value(query) == issued, what=f"{issued} issued")
        anchored = "sum(credledger_event_to_anchored_seconds_count)"
        p.wait(lambda: (p.value(anchored) or 0) >= issued, 180, "the issued events anchored")
        p.wait(lambda: p.value("max(credledger_read_model_lag_events)") == 0, what="caught up")
        relay = "max(credledger_kafka_relay_lag_events)"
        p.wait(lambda: p.value(relay) == 0, what="the relay caught up")
        requests = 'sum(credledger_http_requests_total{route="/credentials/bulk",status="200"})'
        assert (p.value(requests) or 0) >= 4  # and more if a client retried one


def test_not_ready_while_postgresql_is_down_and_ready_again_after(cluster: Cluster) -> None:
    deploy("postgres", "stop")
    try:
        ready = httpx.get(f"{cluster.url}/health/ready", timeout=120)
        live = httpx.get(f"{cluster.url}/health/live", timeout=10)
    finally:
        deploy("postgres", "start")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["code"] == "not-ready"
    assert [r.split(":")[0] for r in ready.json()["not_ready"]] == ["store"]
    assert live.status_code == 200
    answer = httpx.get(f"{cluster.url}/health/ready", timeout=120)
    for _ in range(60):
        if answer.status_code == 200:
            break
        answer = httpx.get(f"{cluster.url}/health/ready", timeout=120)
    assert answer.status_code == 200
