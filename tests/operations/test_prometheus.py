"""A real Prometheus (Debian's, from deploy/prometheus.sh) scraping `credledger serve`: PromQL
over its HTTP API sees a bulk issue counted, anchored and caught up; with the chain node
stopped, the production alert rules (their `for:` shortened) fire, and clear once it returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from anchors.anvil import ManagedAnvil, dev_account, find_anvil
from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from tests.conftest import LEARNER, STORE, content, serving, wait_for
from tests.operations.prometheus import Prometheus, quick_rules, running_prometheus

pytestmark = pytest.mark.skipif(
    STORE != "sqlite", reason="the embedded deployment: the SQLite pass runs it"
)

ISSUED = 'sum(credledger_commands_total{type="issue",outcome="accepted"})'


@dataclass
class Served:
    url: str
    port: int
    signer: CommandSigner
    log: Path


@pytest.fixture(scope="module")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedAnvil]:
    """An Anvil node of this module's own, its state kept on disk so it can stop and come
    back (not deploy/anvil.sh's: the PostgreSQL pass runs beside this one and uses that)."""
    binary = find_anvil()
    assert binary is not None, "anvil is installed by tests/run.sh (npm @foundry-rs/anvil)"
    state = tmp_path_factory.mktemp("prometheus-anvil") / "state.json"
    node = ManagedAnvil(binary, state_file=state).start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, anvil_node: ManagedAnvil) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("prometheus-serve")
    env = {
        "CREDLEDGER_CHAIN": "rpc",
        "CREDLEDGER_CHAIN_RPC_URL": anvil_node.url,
        "CREDLEDGER_CHAIN_PRIVATE_KEY": dev_account(8).key.hex(),
        "CREDLEDGER_BATCH_AGE_SECONDS": "1",
        "CREDLEDGER_ANCHORING_STALL_BATCHES": "5",
        "CREDLEDGER_ANCHOR_REPLACE_AFTER_SECONDS": "5",
    }
    with (work / "serve.log").open("wb") as log, serving(work / "data", env, log) as running:
        _, url, token = running
        key = IssuerKey.generate()
        with LedgerClient(url, admin_token=token) as admin:
            entry = admin.register_issuer(samples.issuer_registration(key.address))
        port = int(url.rsplit(":", 1)[1])
        yield Served(url, port, CommandSigner(key, entry["issuer_id"]), work / "serve.log")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, served: Served) -> Iterator[Prometheus]:
    work = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(work, [f"127.0.0.1:{served.port}"], quick_rules(work)) as running:
        running.wait(lambda: running.value('up{job="credledger"}') == 1, what="the target up")
        yield running


def _bulk_issue(served: Served, count: int, tag: str) -> None:
    bodies = [
        served.signer.issue(content(), {**LEARNER, "identifier": f"{tag}-{i}"})
        for i in range(count)
    ]
    with LedgerClient(served.url, timeout=60) as client:
        results = client.bulk_issue(bodies)
    assert all(result["ok"] for result in results), results[:2]


def test_promql_shows_a_bulk_issue_counted_anchored_and_caught_up(
    served: Served, prometheus: Prometheus
) -> None:
    _bulk_issue(served, 40, "promql")
    prometheus.wait(lambda: prometheus.value(ISSUED) == 40, what="40 issued")
    anchored = "sum(credledger_event_to_anchored_seconds_count)"
    prometheus.wait(lambda: (prometheus.value(anchored) or 0) >= 41, what="the events anchored")
    within = 'sum(credledger_event_to_anchored_seconds_bucket{le="60.0"})'
    assert (prometheus.value(within) or 0) >= 41
    # Recording an anchor is itself an event, which the read model applies a moment later.
    lag = "max(credledger_read_model_lag_events)"
    prometheus.wait(lambda: prometheus.value(lag) == 0, what="the read model caught up")
    assert prometheus.value("max(credledger_chain_up)") == 1
    prometheus.wait(lambda: prometheus.firing() == set(), 30, "no alert firing")


def test_with_the_chain_node_stopped_the_anchoring_alerts_fire_and_clear_when_it_returns(
    served: Served, prometheus: Prometheus, anvil_node: ManagedAnvil
) -> None:
    expected = {"CredledgerChainUnreachable", "CredledgerAnchoringStalled"}
    anvil_node.stop()
    try:
        _bulk_issue(served, 5, "stalled")
        prometheus.wait(lambda: expected <= prometheus.firing(), 120, "the alerts firing")
        stalled = " ERROR credledger.anchoring anchoring stalled: "
        wait_for(lambda: stalled in served.log.read_text(), timeout=30)
        assert (prometheus.value("max(credledger_oldest_unanchored_age_seconds)") or 0) > 5
    finally:
        anvil_node.start()
    prometheus.wait(lambda: not expected & prometheus.firing(), 180, "the alerts cleared")
    assert prometheus.value("max(credledger_chain_up)") == 1
