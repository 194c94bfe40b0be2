"""The alert rules, checked and unit-tested by Prometheus' own promtool (Debian's package,
unpacked by deploy/prometheus.sh)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import store_independent
from tests.operations.prometheus import PROMTOOL, ROOT, RULES

pytestmark = store_independent


@pytest.fixture(scope="module", autouse=True)
def promtool() -> None:
    subprocess.run(["bash", str(ROOT / "deploy" / "prometheus.sh"), "install"], check=True)


def test_the_alert_rules_are_valid_prometheus_rules() -> None:
    checked = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "12 rules found" in checked.stdout


def test_each_alert_fires_and_clears_as_its_unit_tests_expect() -> None:
    tests = ROOT / "tests" / "operations" / "alerts_test.yml"
    tested = subprocess.run(
        [str(PROMTOOL), "test", "rules", str(tests)], capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
