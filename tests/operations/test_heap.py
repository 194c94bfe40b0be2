"""A settled process keeps what start-up made out of the collector's scans and collects its
young objects less often (run in a child process: settling is for a whole process)."""

from __future__ import annotations

import json
import subprocess
import sys

from ledger.operations.heap import YOUNG_THRESHOLD
from tests.conftest import store_independent

pytestmark = store_independent  # the interpreter, not a store: the SQLite pass runs it

PROBE = """
import gc, json
import ledger.cli.main, ledger.cli.server  # what `credledger serve` has loaded
before = gc.get_freeze_count()
from ledger.operations import heap
heap.settle()
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(),
                  "threshold": gc.get_threshold(), "young": len(gc.get_objects(0))}))
"""


def test_settling_freezes_the_start_up_heap_and_raises_the_young_threshold() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, check=True)
    found = json.loads(out.stdout)
    assert found["before"] == 0
    assert found["frozen"] > 50_000  # the modules, classes and functions serve imports
    assert found["threshold"] == [YOUNG_THRESHOLD, 10, 10]
    assert found["young"] < 1_000
