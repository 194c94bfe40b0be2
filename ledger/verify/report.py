"""A verifier's report: named steps, each passed, failed or not checked, and a verdict.

Every verifier (proof bundles, Blockcerts documents, the combined report) answers in this shape,
so pages, the API and the CLI print them alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Step:
    name: str
    passed: bool | None
    detail: str


@dataclass
class Report:
    steps: list[Step] = field(default_factory=list)
    verdict: str = "invalid"
    credential: dict[str, Any] | None = None
    # The credential document's anchor-tree leaf (hex): for a document, its own hash; for a
    # ledger record, the leaf the ledger anchored for that version. Combined, they must agree.
    document_leaf: str | None = None

    def add(self, name: str, passed: bool | None, detail: str) -> bool | None:
        self.steps.append(Step(name, passed, detail))
        return passed

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "steps": [asdict(s) for s in self.steps]}
