"""An audit's outcome for Prometheus' textfile collector (node_exporter
``--collector.textfile.directory``): written whole and renamed into place, so a scrape never
reads half a file. Counts and outcomes only: a finding's detail stays in the audit's report."""

from __future__ import annotations

import re
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from ledger.audit.report import AuditReport

RUNS = "credledger_audit_runs_total"


def _previous_runs(path: Path) -> int:
    """How many audits the file already counts (0 for a new or unreadable file)."""
    try:
        found = re.search(rf"^{RUNS} (\S+)$", path.read_text("utf-8"), re.MULTILINE)
    except OSError:
        return 0
    return int(float(found.group(1))) if found else 0


def write_audit_metrics(path: Path, report: AuditReport, seconds: float) -> None:
    """Record this audit in ``path``: when, how it ended, what it covered and how long."""
    registry = CollectorRegistry()

    def gauge(name: str, documentation: str, value: float, **labels: str) -> None:
        metric = Gauge(name, documentation, list(labels), registry=registry)
        (metric.labels(**labels) if labels else metric).set(value)

    gauge(RUNS, "Audits recorded in this file.", _previous_runs(path) + 1)
    gauge("credledger_audit_last_run_timestamp_seconds", "When the last audit ended.", time.time())
    gauge("credledger_audit_clean", "1 when the last audit found no discrepancy.", report.clean)
    gauge(
        "credledger_audit_confirmed",
        "1 when the last audit was clean and every check ran (the chain was reachable).",
        report.confirmed,
    )
    gauge(
        "credledger_audit_findings",
        "Discrepancies the last audit found (it stops at the first), by check.",
        0 if report.finding is None else 1,
        check=report.finding.check if report.finding is not None else "",
    )
    gauge("credledger_audit_entries", "Log entries the last audit checked.", report.entries)
    gauge("credledger_audit_checkpoints", "Checkpoints it checked.", report.checkpoints)
    gauge("credledger_audit_anchors", "Anchors it checked.", report.anchors)
    gauge("credledger_audit_duration_seconds", "How long the last audit took.", seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
