"""The whole API, fuzzed from its own OpenAPI document: no input makes it fail or fall over.

Schemathesis generates examples, boundary values and random inputs for every operation (a
fixed seed and a bounded number, so the run is repeatable and takes about a minute) against a
real `credledger serve`; any 5xx answer fails the test, and the service must still answer after.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ServeProcess, store_independent

# `serve` runs the embedded default (SQLite) in either pass: the PostgreSQL pass would repeat it.
pytestmark = store_independent

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_no_generated_request_gets_a_server_error(serve: ServeProcess, tmp_path: Path) -> None:
    process, url, _ = serve
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "50",
            "--seed",
            "42",
            "--generation-database",
            "none",
            "--request-timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    summary = run.stdout[run.stdout.find("SUMMARY") :]
    assert run.returncode == 0, run.stdout[-6000:]
    assert "generated" in summary and "passed" in summary
    assert process.poll() is None
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
