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
class Verified:
    """A component that verified as valid, and where its batch was anchored then."""

    component: Component
    tx_hash: str
    block_hash: str
    until: float


class VerifiedComponents:
    """Valid components by the digest of the document presented, least recently used out."""

    def __init__(self, lifetime: float = LIFETIME_SECONDS, most: int = MOST) -> None:
        self._lifetime = lifetime
        self._most = most
        self._kept: OrderedDict[str, Verified] = OrderedDict()
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

    def put(
        self, digest: str, component: Component, tx_hash: str, block_hash: str, now: float
    ) -> None:
        with self._lock:
            self._kept[digest] = Verified(component, tx_hash, block_hash, now + self._lifetime)
            self._kept.move_to_end(digest)
            while len(self._kept) > self._most:
                self._kept.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._kept.pop(digest, None)
