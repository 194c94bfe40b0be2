"""What an audit reports: counts, the first discrepancy found, and the checks that could not run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Finding:
    """The first discrepancy: where, and what differs."""

    check: str
    index: int | None
    position: int | None
    detail: str


@dataclass
class AuditReport:
    entries: int = 0
    checkpoints: int = 0
    anchors: int = 0
    unlogged: int = 0
    finding: Finding | None = None
    # Checks that could not run (an unreachable chain): nothing found, nothing confirmed.
    unconfirmed: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return self.finding is None

    @property
    def confirmed(self) -> bool:
        """Clean, and every check ran."""
        return self.finding is None and not self.unconfirmed

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "anchors": self.anchors,
            "unlogged": self.unlogged,
            "finding": None if self.finding is None else asdict(self.finding),
            "unconfirmed": self.unconfirmed,
            "seconds": {phase: round(value, 3) for phase, value in self.timings.items()},
        }


class Discrepancy(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.detail)
        self.finding = finding
