"""What an auditor reads over HTTP: the public history of a running ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anchors.anchoring import AnchorRecord
from anchors.checkpoint import Checkpoint
from anchors.tile_reader import TileReader
from ledger.audit.sources import History
from ledger.client import LedgerClient

PAGE = 1000


class RemoteHistory:
    """The log as the API publishes it."""

    def __init__(self, client: LedgerClient) -> None:
        self._client = client

    def size(self) -> int:
        return int(self._client._call("GET", "/log/state")["size"])

    def entries(self, start: int, stop: int) -> list[bytes]:
        found: list[bytes] = []
        while start + len(found) < stop:
            page = self._client._call(
                "GET",
                "/log/entries",
                params={"start": start + len(found), "limit": min(PAGE, stop - start - len(found))},
            )
            if not page["entries"]:
                break
            found += [entry.encode() for entry in page["entries"]]
        return found

    def checkpoints(self) -> dict[int, str]:
        found: dict[int, str] = {}
        after = 0
        while True:
            page = self._client._call(
                "GET", "/log/checkpoints", params={"after_size": after, "limit": 500}
            )
            found.update((item["size"], item["note"]) for item in page["items"])
            if page["next"] is None:
                return found
            after = page["next"]


class RemoteAnchors:
    """The recorded anchors as the API publishes them."""

    def __init__(self, client: LedgerClient) -> None:
        self._records: dict[int, AnchorRecord] = {}
        after = 0
        while True:
            page = client._call("GET", "/log/anchors", params={"after_size": after, "limit": 500})
            for item in page["items"]:
                self._records[item["checkpoint_size"]] = _record(item)
            if page["next"] is None:
                break
            after = page["next"]

    def get(self, checkpoint_size: int) -> AnchorRecord | None:
        return self._records.get(checkpoint_size)


def _record(item: dict[str, Any]) -> AnchorRecord:
    return AnchorRecord(
        checkpoint_size=item["checkpoint_size"],
        checkpoint_note=item["checkpoint_note"],
        leaves=item["leaves"],
        root=item["root"],
        chain_id=item["chain_id"],
        nonce=-1,
        state="recorded",
        tx_hash=item["tx_hash"],
        block_number=item["block_number"],
        block_hash=item["block_hash"],
        block_time=item["block_time"],
        documents=item.get("documents", []),
    )


class TileHistory:
    """The log as a tile mirror serves it (C2SP tlog-tiles anywhere): its entries from the
    entry bundles and its checkpoint, with the checkpoints another source (the ledger's API)
    lists up to the mirror's size, each of which the audit checks against these entries."""

    def __init__(self, fetch: Callable[[str], bytes], also: History | None = None) -> None:
        self.note = fetch("checkpoint").decode("utf-8")
        mirrored = Checkpoint.parse(self.note.partition("\n\n")[0] + "\n")
        self._reader = TileReader(fetch, mirrored.size)
        self._also = also

    def size(self) -> int:
        return self._reader.size

    def entries(self, start: int, stop: int) -> list[bytes]:
        return self._reader.entries(start, stop)

    def checkpoints(self) -> dict[int, str]:
        listed = self._also.checkpoints() if self._also is not None else {}
        found = {size: note for size, note in listed.items() if size <= self.size()}
        # The same checkpoint as listed keeps the listed note (its anchor names that one);
        # another body for the same size is the mirror's, and the audit will say which holds.
        listed_note = found.get(self.size())
        if listed_note is None or listed_note.partition("\n\n")[0] != self.body():
            found[self.size()] = self.note
        return found

    def body(self) -> str:
        return self.note.partition("\n\n")[0]


class NoAnchors:
    """No anchor records: a mirror of the log alone has none to offer."""

    def get(self, checkpoint_size: int) -> AnchorRecord | None:
        return None
