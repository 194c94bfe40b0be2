"""A real Prometheus for the tests, started by deploy/prometheus.sh, and its HTTP API."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "production" / "prometheus" / "alerts.yml"
PROMTOOL = ROOT / ".deploy" / "prometheus" / "usr" / "bin" / "promtool"
# Below the ephemeral port range, like every service the deploy scripts start; one port a
# pass, as tests/run.sh runs the SQLite and PostgreSQL passes side by side.
PORT = 29091 if os.environ.get("CREDLEDGER_TEST_STORE", "sqlite") == "sqlite" else 29095


def quick_rules(directory: Path) -> Path:
    """The production alert rules with every `for:` shortened to two seconds: the
    expressions are the production ones, only the waiting is cut for a test."""
    quick = directory / "alerts-quick.yml"
    quick.write_text(re.sub(r"for: \d+[mh]", "for: 2s", RULES.read_text()))
    return quick


@dataclass
class Prometheus:
    url: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector ``promql`` evaluates to now."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def value(self, promql: str) -> float | None:
        """The single value of ``promql`` now (None: no series)."""
        found = self.query(promql)
        assert len(found) <= 1, found
        return float(found[0]["value"][1]) if found else None

    def firing(self) -> set[str]:
        """The names of the alerts firing now."""
        answer = httpx.get(f"{self.url}/api/v1/alerts", timeout=10)
        answer.raise_for_status()
        return {
            alert["labels"]["alertname"]
            for alert in answer.json()["data"]["alerts"]
            if alert["state"] == "firing"
        }

    def wait(self, condition: Any, timeout: float = 90, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"Prometheus never showed: {what}"
            time.sleep(0.5)


@contextmanager
def running_prometheus(work: Path, targets: list[str], rules: Path | None) -> Iterator[Prometheus]:
    """Prometheus scraping ``targets`` (host:port) every second, evaluating ``rules``."""
    work.mkdir(parents=True, exist_ok=True)
    config = work / "prometheus.yml"
    rule_files = f'rule_files: ["{rules}"]\n' if rules is not None else ""
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        + rule_files
        + "scrape_configs:\n"
        + "  - job_name: credledger\n"
        + f"    static_configs: [{{targets: {targets!r}}}]\n".replace("'", '"')
    )
    env = {
        "CREDLEDGER_PROMETHEUS_PORT": str(PORT),
        "CREDLEDGER_PROMETHEUS_CONFIG": str(config),
        "CREDLEDGER_PROMETHEUS_DATA": str(work / "data"),
    }
    script = ROOT / "deploy" / "prometheus.sh"
    subprocess.run(["bash", str(script), "start"], check=True, env={**_environment(), **env})
    try:
        yield Prometheus(f"http://127.0.0.1:{PORT}")
    finally:
        subprocess.run(["bash", str(script), "stop"], check=True, env={**_environment(), **env})


def _environment() -> dict[str, str]:
    return dict(os.environ)
