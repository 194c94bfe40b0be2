"""Scale-out on the real engines: PostgreSQL, Apache Kafka and Anvil started from deploy/, two
API workers and the consumers as separate processes; a large load, then one fault at a time.
Every run ends with the same check: no event lost, none doubled, every credential anchored
exactly once, the log's root that of a replay through the embedded path, the audit clean. The
operator's view is checked on the way: a real Prometheus sums what the processes counted, and
readiness follows PostgreSQL going away and coming back while liveness stays."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LEARNER, STORE, content
from tests.e2e.cluster import Cluster, Load, check_everything, deploy
from tests.operations.prometheus import running_prometheus
from tests.processes import consumers_of

pytestmark = pytest.mark.skipif(
    STORE != "postgres", reason="the scale-out path is PostgreSQL's: it runs in that pass"
)


@pytest.fixture
def cluster(tmp_path: Path, scale_out_services: None) -> Iterator[Cluster]:
    running = Cluster(tmp_path)
    yield running
    running.close()


def test_ten_thousand_credentials_through_two_api_workers_are_all_anchored_and_counted_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.serve()
    with running_prometheus(tmp_path / "prometheus", [f"127.0.0.1:{cluster.port}"], None) as p:
        load = Load.register(cluster)
        for _ in load.issue(batches=100):
            pass
        check_everything(cluster, load)
        # Whichever worker answers a scrape, it gives the sum of every process's counts.
        issued = 'sum(credledger_commands_total{type="issue",outcome="accepted"})'
        p.wait(lambda: p.value(issued) == len(load.accepted), what="every issue counted once")
        anchored = "sum(credledger_event_to_anchored_seconds_count)"
        p.wait(lambda: (p.value(anchored) or 0) >= len(load.accepted), what="anchors observed")
        p.wait(lambda: p.value("max(credledger_read_model_lag_events)") == 0, what="caught up")
        p.wait(lambda: p.value("max(credledger_kafka_relay_lag_events)") == 0, what="relayed")


def test_serve_with_two_workers_runs_the_read_model_and_the_consumers_in_processes_of_their_own(
    cluster: Cluster,
) -> None:
    cluster.serve()
    serving = cluster.processes["api"].pid
    assert len(consumers_of(serving, "read-model")) == 1
    assert len(consumers_of(serving, "consumers")) == 1


def test_the_read_model_process_killed_mid_load_is_restarted_and_loses_and_doubles_nothing(
    cluster: Cluster,
) -> None:
    cluster.serve()
    serving = cluster.processes["api"].pid
    (killed,) = consumers_of(serving, "read-model")
    load = Load.register(cluster)
    for done in load.issue(batches=20):
        if done == 5:
            os.kill(killed, signal.SIGKILL)
    restarted = consumers_of(serving, "read-model")
    assert len(restarted) == 1 and restarted != [killed]
    check_everything(cluster, load)


def test_the_consumers_killed_mid_batch_and_restarted_lose_and_double_nothing(
    cluster: Cluster,
) -> None:
    cluster.serve(consumers=False)
    cluster.start("consumers", "consume")
    load = Load.register(cluster)
    for done in load.issue(batches=20):
        if done == 5:
            cluster.kill("consumers", signal.SIGKILL)
            time.sleep(1)
            cluster.start("consumers", "consume")
    check_everything(cluster, load)


def _restarted_during_load(cluster: Cluster, service: str) -> Load:
    """Load with ``service`` stopped for a few seconds a quarter of the way through."""
    cluster.serve()
    load = Load.register(cluster)
    try:
        for done in load.issue(batches=20):
            if done == 5:
                deploy(service, "stop")
                time.sleep(3)
                deploy(service, "start")
    finally:
        deploy(service, "start")
    return load


def test_the_kafka_broker_stopped_and_restarted_during_load_loses_and_doubles_nothing(
    cluster: Cluster,
) -> None:
    check_everything(cluster, _restarted_during_load(cluster, "kafka"))


def test_postgresql_restarted_during_load_answers_503_not_ready_then_recovers_by_itself(
    cluster: Cluster,
) -> None:
    cluster.serve()
    load = Load.register(cluster)
    outage: list[httpx.Response] = []
    probes: list[httpx.Response] = []
    try:
        for done in load.issue(batches=20):
            if done == 5:
                deploy("postgres", "stop")
                try:
                    # Nothing can be written now: this command must be refused, not lost.
                    probe = load.signer.issue(content(), LEARNER, command_id="during-outage")
                    url = f"{cluster.url}/credentials"
                    outage.append(httpx.post(url, json=probe, timeout=180))
                    probes.append(httpx.get(f"{cluster.url}/health/ready", timeout=180))
                    probes.append(httpx.get(f"{cluster.url}/health/live", timeout=10))
                finally:
                    deploy("postgres", "start")
    finally:
        deploy("postgres", "start")
    assert outage[0].status_code == 503
    assert outage[0].headers["content-type"] == "application/problem+json"
    assert outage[0].json()["code"] == "unavailable"
    ready, live = probes
    assert ready.status_code == 503 and ready.json()["code"] == "not-ready"
    assert [reason.split(":")[0] for reason in ready.json()["not_ready"]] == ["store"]
    assert live.status_code == 200
    check_everything(cluster, load)
    assert httpx.get(f"{cluster.url}/health/ready", timeout=30).status_code == 200


def test_anvil_stopped_and_restarted_during_load_loses_and_doubles_nothing(
    cluster: Cluster,
) -> None:
    check_everything(cluster, _restarted_during_load(cluster, "anvil"))
