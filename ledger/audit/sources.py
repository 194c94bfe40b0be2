"""What the audit reads: a log's history, its anchors, and a replay of the read model.

The protocols here are met by the log's own store (:class:`LocalHistory`), by a running
ledger's public API (``remote_sources``) and by the consumers' read-model replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from anchors.anchoring import AnchorRecord
from anchors.log import TransparencyLog

# A stored event as the audit reads it: (position, log entry, the entry's value where the
# reader knows it exactly, else None: the audit parses the entry).
StoredEntry = tuple[int, bytes, dict[str, Any] | None]


class ReadModelReplay(Protocol):
    """A scratch read model built from the audited envelopes, to compare with the live one."""

    def feed(self, envelopes: list[dict[str, Any]], entries: list[bytes]) -> None:
        """The next envelopes the audit checked, and the entries it read them from (the same
        envelopes as canonical JSON: cheaper to hand to another process)."""
        ...

    def finish(self) -> None:
        """Every envelope has been fed: what can start before the digests are asked for."""
        ...

    def digests(self) -> tuple[str, str]:
        """(live, replayed) digests at the same position."""
        ...


class SignersAhead(Protocol):
    """Issuer signers recovered ahead of the audit, on another core, for the batches of log
    entries it will check next."""

    def ahead(self, index: int, entries: list[bytes]) -> None:
        """Start on the entries from log index ``index``."""
        ...

    def recovered(self, index: int) -> list[tuple[str | None, str | None] | None]:
        """For the batch started at ``index``: each entry's recovery (None: not done ahead)."""
        ...


class History(Protocol):
    """What the audit reads of a log: its size, its entries and its checkpoints."""

    def size(self) -> int: ...
    def entries(self, start: int, stop: int) -> list[bytes]: ...
    def checkpoints(self) -> dict[int, str]: ...


class Anchors(Protocol):
    def get(self, checkpoint_size: int) -> AnchorRecord | None: ...


@dataclass
class LocalHistory:
    """A log read from its own store."""

    log: TransparencyLog

    def size(self) -> int:
        return self.log.size()

    def entries(self, start: int, stop: int) -> list[bytes]:
        return self.log.store.entries(start, stop)

    def checkpoints(self) -> dict[int, str]:
        return dict(self.log.store.checkpoints(0, 1_000_000))
