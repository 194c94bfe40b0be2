"""The auditor's read-model replay: the audited envelopes into a scratch read model."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from consumers.projector import replay_envelopes
from ledger.client import LedgerClient
from ledger.persistence.read_model import ReadModel
from ledger.persistence.sqlite import SQLiteReadModel


class _Replay:
    """Replays envelopes up to ``position`` into a scratch SQLite read model, kept at
    ``keep`` for the next incremental audit, or in a temporary directory."""

    def __init__(self, position: int, live_digest: str, keep: Path | None) -> None:
        self._directory = None if keep else tempfile.TemporaryDirectory()
        path = keep or Path(self._directory.name if self._directory else ".") / "replay.sqlite"
        self._scratch = SQLiteReadModel(path, durable=False)
        self._position = position
        self._live = live_digest

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


class LocalReplay(_Replay):
    """Compared with a read model read directly, at the position it had when the audit began."""

    def __init__(self, live: ReadModel, keep: Path | None = None) -> None:
        digest, position = live.digest()
        super().__init__(position, digest, keep)


class RemoteReplay(_Replay):
    """Compared with the digest the API published when the audit began."""

    def __init__(self, client: LedgerClient, keep: Path | None = None) -> None:
        published = client._call("GET", "/state/digest")
        super().__init__(int(published["position"]), str(published["digest"]), keep)
