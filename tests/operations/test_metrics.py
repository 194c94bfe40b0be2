"""/metrics: what an operator's Prometheus reads, counted where it happens and read from the
stores when scraped; no credential id or personal data in it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ledger.audit.metrics_file import write_audit_metrics
from ledger.audit.report import AuditReport
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, issue, wait_for
from tests.operations.prometheus import ROOT, RULES


def scrape(ledger: RunningLedger) -> str:
    answer = httpx.get(f"{ledger.url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answer.text


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with exactly ``labels`` (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


def issued(text: str) -> float:
    return sample(text, "credledger_commands_total", type="issue", outcome="accepted", problem="")


def test_issued_credentials_are_counted_as_accepted_issue_commands(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    before = issued(scrape(ledger))
    for _ in range(3):
        issue(ledger, issuer)
    assert issued(scrape(ledger)) == before + 3


def test_a_refused_command_is_counted_with_its_problem_code(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "issued in error"))
    labels = {"type": "revoke", "outcome": "refused", "problem": "already-revoked"}
    before = sample(scrape(ledger), "credledger_commands_total", **labels)
    again = issuer.signer.revoke(credential_id, 1, "issued in error")
    answer = httpx.post(f"{ledger.url}/credentials/{credential_id}/revocation", json=again)
    assert answer.json()["code"] == "already-revoked"
    assert sample(scrape(ledger), "credledger_commands_total", **labels) == before + 1


def test_a_repeated_command_counts_as_replayed_not_accepted(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    body = issuer.signer.issue(content(), LEARNER, command_id="metrics-replayed-once")
    ledger.public.issue(body)
    text = scrape(ledger)
    accepted, replayed = issued(text), _replayed(text)
    ledger.public.issue(body)
    text = scrape(ledger)
    assert (issued(text), _replayed(text)) == (accepted, replayed + 1)


def test_requests_are_labelled_by_route_template_never_by_credential_id(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    route = "/credentials/{credential_id}"
    before = sample(
        scrape(ledger), "credledger_http_requests_total", route=route, method="GET", status="200"
    )
    ledger.public.status(credential_id)
    text = scrape(ledger)
    after = sample(text, "credledger_http_requests_total", route=route, method="GET", status="200")
    assert after == before + 1
    assert credential_id not in text


def test_the_store_figures_are_those_of_the_stores(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    storage = ledger.embedded.storage
    wait_for(lambda: storage.log.position() == storage.ledger.recorder.max_notification_id())
    text = scrape(ledger)
    stored = storage.ledger.recorder.max_notification_id()
    assert sample(text, "credledger_event_store_position") == stored
    assert sample(text, "credledger_read_model_position") == storage.read_model.position()
    assert sample(text, "credledger_log_size") == storage.log.size()
    assert sample(text, "credledger_store_up") == 1
    assert sample(text, "credledger_chain_up") == 1


def test_anchored_events_are_observed_from_store_to_anchor(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    before = sample(scrape(ledger), "credledger_event_to_anchored_seconds_count")
    issue(ledger, issuer)
    wait_for(lambda: sample(scrape(ledger), "credledger_event_to_anchored_seconds_count") > before)
    text = scrape(ledger)
    assert sample(text, "credledger_anchor_transactions_total", outcome="confirmed") >= 1
    assert sample(text, "credledger_unanchored_entries") >= 0


def test_every_answer_carries_a_request_id(ledger: RunningLedger) -> None:
    first = httpx.get(f"{ledger.url}/health/live")
    second = httpx.get(f"{ledger.url}/health/live")
    assert len(first.headers["x-request-id"]) == 16
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_a_plain_client_request_id_is_kept_and_any_other_replaced(ledger: RunningLedger) -> None:
    kept = httpx.get(f"{ledger.url}/health/live", headers={"x-request-id": "lb-7f3a.42"})
    replaced = httpx.get(f"{ledger.url}/health/live", headers={"x-request-id": "a b\tc" * 20})
    assert kept.headers["x-request-id"] == "lb-7f3a.42"
    assert replaced.headers["x-request-id"] != "a b\tc" * 20


def _replayed(text: str) -> float:
    return sample(text, "credledger_commands_total", type="issue", outcome="replayed", problem="")


# Shown only where that part is configured or has happened yet.
CONDITIONAL = {
    "credledger_kafka_relay_lag_events",  # transport=kafka
    "credledger_witness_cosigned_size",  # witnesses configured
    "credledger_witnessed_checkpoint_size",
    "credledger_witness_quorum",
}


def _exposed(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def test_the_dashboard_and_the_alert_rules_read_only_metrics_the_ledger_exposes(
    ledger: RunningLedger, tmp_path: Path
) -> None:
    write_audit_metrics(tmp_path / "audit.prom", AuditReport(), 0.1)
    exposed = _exposed(scrape(ledger)) | _exposed((tmp_path / "audit.prom").read_text())
    production = ROOT / "deploy" / "production"
    for source in (production / "grafana" / "credledger.json", RULES):
        used = set(re.findall(r"credledger_[a-z_]+", source.read_text()))
        assert used, source
        assert used - exposed - CONDITIONAL == set(), source.name
