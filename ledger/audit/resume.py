"""Where an incremental audit starts again, saved at the last checkpoint it audited."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from anchors.log import TransparencyLog
from anchors.merkle import root_plan
from ledger.audit.issuer_register import IssuerRegister
from ledger.domain.binding import Bindings


@dataclass(frozen=True)
class Resume:
    """Where an incremental audit starts: the last checkpoint audited, and what had been
    derived up to it (the issuer register and the right edge of the rebuilt tree)."""

    checkpoint: str
    size: int
    position: int
    keys: dict[str, str]
    suspended: list[str]
    frontier: dict[str, str]
    credentials: dict[str, list[Any]] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)
    erased: list[str] = field(default_factory=list)
    # Everything the binding checks had derived; files saved before it held only the three
    # above, which are no longer written (a copy of the largest state at the audit's end).
    bindings: dict[str, Any] = field(default_factory=dict)

    def restored_bindings(self) -> Bindings:
        """The binding checks' state as it was at this checkpoint."""
        if self.bindings:
            return Bindings.from_saved(self.bindings)
        return Bindings(
            {k: list(v) for k, v in self.credentials.items()},
            dict(self.commands),
            set(self.erased),
        )

    @classmethod
    def at(
        cls,
        note: str,
        size: int,
        position: int,
        register: IssuerRegister,
        tree: TransparencyLog,
        bindings: Bindings,
    ) -> Resume:
        plan = root_plan(size).nodes
        hashes = tree.store.nodes(plan)
        return cls(
            checkpoint=note,
            size=size,
            position=position,
            keys=dict(register.keys),
            suspended=sorted(register.suspended),
            frontier={f"{level}/{index}": hashes[(level, index)].hex() for level, index in plan},
            bindings=bindings.saved(),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Resume | None:
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text("utf-8")))


def node_of(key: str) -> tuple[int, int]:
    """The (level, index) of a frontier node saved as ``"level/index"``."""
    level, index = key.split("/")
    return int(level), int(index)
