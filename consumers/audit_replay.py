"""The auditor's read-model replay: the audited envelopes into a scratch read model."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from consumers.projector import replay_envelopes
from ledger.client import LedgerClient
from ledger.read_model import ReadModel
from ledger.sqlite import SQLiteReadModel


class _Replay:
    """Replays envelopes up to ``position`` into a scratch SQLite read model."""

    def __init__(self, position: int, live_digest: str) -> None:
        self._directory = tempfile.TemporaryDirectory()
        self._scratch = SQLiteReadModel(Path(self._directory.name) / "read-model.sqlite")
        self._position = position
        self._live = live_digest

    def feed(self, envelopes: list[dict[str, Any]]) -> None:
        wanted = [e for e in envelopes if int(e["position"]) <= self._position]
        if wanted:
            replay_envelopes(self._scratch, wanted)

    def digests(self) -> tuple[str, str]:
        try:
            return self._live, self._scratch.digest()[0]
        finally:
            self._directory.cleanup()


class LocalReplay(_Replay):
    """Compared with a read model read directly, at the position it had when the audit began."""

    def __init__(self, live: ReadModel) -> None:
        digest, position = live.digest()
        super().__init__(position, digest)


class RemoteReplay(_Replay):
    """Compared with the digest the API published when the audit began."""

    def __init__(self, client: LedgerClient) -> None:
        published = client._call("GET", "/state/digest")
        super().__init__(int(published["position"]), str(published["digest"]))
