"""The audit's textfile for Prometheus: outcome and counts, never a finding's detail."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ledger.audit.metrics_file import write_audit_metrics
from ledger.audit.report import AuditReport, Finding
from tests.conftest import store_independent

pytestmark = store_independent


def _samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }


def test_a_discrepancy_is_recorded_by_its_check_and_the_run_counted(tmp_path: Path) -> None:
    path = tmp_path / "audit.prom"
    write_audit_metrics(path, AuditReport(entries=10), 0.5)
    finding = Finding("binding", 7, 9, "credential 5d1e… was revoked by someone else")
    write_audit_metrics(path, AuditReport(entries=12, finding=finding), 0.7)
    found = _samples(path)
    assert found[("credledger_audit_runs_total", ())] == 2
    assert found[("credledger_audit_clean", ())] == 0
    assert found[("credledger_audit_findings", (("check", "binding"),))] == 1
    assert found[("credledger_audit_entries", ())] == 12
    assert "5d1e" not in path.read_text()


def test_nothing_but_the_finished_file_is_left_in_the_directory(tmp_path: Path) -> None:
    write_audit_metrics(tmp_path / "audit.prom", AuditReport(), 0.1)
    assert [p.name for p in tmp_path.iterdir()] == ["audit.prom"]
