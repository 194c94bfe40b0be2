"""Components verified a moment ago, kept so that the same documents evaluated again (a page
refreshed, a pathway compared with another, the recognition after its evaluation) are not
verified in full each time.

What a full verification establishes about a document's bytes does not change: its hash, its
anchor path, the ledger's signed record of its version, the learner it opens to. What can
change is re-checked by the caller on every use (the version's status, the issuer's standing,
validity, and that the batch is still anchored where it was); an entry lives a minute at most,
so the chain's answers it rests on are never older than that.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from ledger.stacking.evaluation import Component

LIFETIME_SECONDS = 60.0
MOST = 10_000


@dataclass(frozen=True)
class AnchoredAt:
    """Where a batch was anchored: its checkpoint, transaction and block."""

    checkpoint_size: int
    tx_hash: str
    block_hash: str


@dataclass(frozen=True)
class Verified:
    """A component that verified as valid, and where its batch was anchored then."""

    component: Component
    anchor: AnchoredAt
    until: float


class VerifiedComponents:
    """Valid components by the digest of the document presented, least recently used out."""

    def __init__(self, lifetime: float = LIFETIME_SECONDS, most: int = MOST) -> None:
        self._lifetime = lifetime
        self._most = most
        self._kept: OrderedDict[str, Verified] = OrderedDict()
        # A request body's digest -> its documents' digests and the pathway version it asked.
        self._bodies: OrderedDict[str, tuple[list[str], int | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str, now: float) -> Verified | None:
        with self._lock:
            found = self._kept.get(digest)
            if found is None:
                return None
            if found.until <= now:
                del self._kept[digest]
                return None
            self._kept.move_to_end(digest)
            return found

    def put(self, digest: str, component: Component, anchor: AnchoredAt, now: float) -> None:
        with self._lock:
            self._kept[digest] = Verified(component, anchor, now + self._lifetime)
            self._kept.move_to_end(digest)
            while len(self._kept) > self._most:
                self._kept.popitem(last=False)

    def presented(self, body: str, documents: list[str], version: int | None) -> None:
        """Remember which documents (by digest) a request body held."""
        with self._lock:
            self._bodies[body] = (documents, version)
            self._bodies.move_to_end(body)
            while len(self._bodies) > self._most:
                self._bodies.popitem(last=False)

    def body(self, digest: str) -> tuple[list[str], int | None] | None:
        """The documents' digests of a request body seen before, and the pathway version it
        asked for (None: the current one); None if it was not seen."""
        with self._lock:
            found = self._bodies.get(digest)
            return None if found is None else (list(found[0]), found[1])

    def forget(self, digest: str) -> None:
        with self._lock:
            self._kept.pop(digest, None)
