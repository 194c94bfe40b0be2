"""The auditor's read-model replay: the audited envelopes into a scratch read model."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from consumers.projector import replay_envelopes
from ledger.client import LedgerClient
from ledger.persistence.read_model import ReadModel
from ledger.persistence.sqlite import SQLiteReadModel

# What a replay is compared with: the live read model's (position, digest).
Target = tuple[int, str]


def local_target(live: ReadModel) -> Target:
    """A read model read directly, at the position it has when the audit begins."""
    digest, position = live.digest()
    return position, digest


def remote_target(client: LedgerClient) -> Target:
    """The digest the API publishes when the audit begins."""
    published = client._call("GET", "/state/digest")
    return int(published["position"]), str(published["digest"])


class ScratchReplay:
    """Replays envelopes up to the target's position into a scratch SQLite read model, kept
    at ``keep`` for the next incremental audit, or in a temporary directory."""

    def __init__(self, target: Target, keep: Path | None = None) -> None:
        self._directory = None if keep else tempfile.TemporaryDirectory()
        path = keep or Path(self._directory.name if self._directory else ".") / "replay.sqlite"
        self._scratch = SQLiteReadModel(path, durable=False)
        self._position, self._live = target

    def feed(self, envelopes: list[dict[str, Any]]) -> None:
        done = self._scratch.position()
        wanted = [e for e in envelopes if done < int(e["position"]) <= self._position]
        if wanted:
            replay_envelopes(self._scratch, wanted)

    def digests(self) -> tuple[str, str]:
        try:
            return self._live, self._scratch.digest()[0]
        finally:
            if self._directory is not None:
                self._directory.cleanup()


class LocalReplay(ScratchReplay):
    """Compared with a read model read directly, at the position it had when the audit began."""

    def __init__(self, live: ReadModel, keep: Path | None = None) -> None:
        super().__init__(local_target(live), keep)


class RemoteReplay(ScratchReplay):
    """Compared with the digest the API published when the audit began."""

    def __init__(self, client: LedgerClient, keep: Path | None = None) -> None:
        super().__init__(remote_target(client), keep)
