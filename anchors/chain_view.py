"""A verifier's view of a chain: the same answers, read at most every few seconds.

Verifying ten documents anchored by one transaction asks the node for that transaction, its
block and the chain's head ten times; a page or an evaluation asked again a moment later asks
once more. This view keeps what the node said for a short while (the head for a second, mined
transactions and blocks a little longer), so a burst of verifications costs one round of
reads. Only what is found is kept: a transaction not mined yet is asked for again each time.
The anchorer never uses it: it must see the chain as it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from anchors.chain import Chain, Fees, Inclusion, MinedTransaction

T = TypeVar("T")
HEAD_SECONDS = 1.0
MINED_SECONDS = 2.0
_MOST = 4096


class RecentChainView(Chain):
    """Reads of ``chain`` kept for ``HEAD_SECONDS`` (the head) or ``MINED_SECONDS`` (blocks,
    mined transactions); writes and account reads go straight through."""

    def __init__(self, chain: Chain, clock: Callable[[], float] = time.monotonic) -> None:
        self.chain = chain
        self._clock = clock
        self._kept: dict[tuple[str, object], tuple[float, object]] = {}
        self._lock = threading.Lock()
        self._chain_id: int | None = None

    def _read(self, key: tuple[str, object], seconds: float, read: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            found = self._kept.get(key)
        if found is not None and found[0] > now:
            return found[1]  # type: ignore[return-value]
        value = read()
        if value is not None:
            with self._lock:
                if len(self._kept) >= _MOST:
                    self._kept = {k: v for k, v in self._kept.items() if v[0] > now}
                    if len(self._kept) >= _MOST:
                        self._kept.clear()
                self._kept[key] = (now + seconds, value)
        return value

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.chain.chain_id()
        return self._chain_id

    def head(self) -> int:
        return self._read(("head", None), HEAD_SECONDS, self.chain.head)

    def block(self, number: int) -> tuple[str, int] | None:
        return self._read(("block", number), MINED_SECONDS, lambda: self.chain.block(number))

    def transaction(self, tx_hash: str) -> MinedTransaction | None:
        found = self._read(
            ("transaction", tx_hash), MINED_SECONDS, lambda: self.chain.transaction(tx_hash)
        )
        if found is not None:
            self._seen_block(found.block_number)
        return found

    def inclusion(self, tx_hash: str) -> Inclusion | None:
        found = self._read(
            ("inclusion", tx_hash), MINED_SECONDS, lambda: self.chain.inclusion(tx_hash)
        )
        if found is not None:
            self._seen_block(found.block_number)
        return found

    def _seen_block(self, number: int) -> None:
        """A block beyond the head kept: the head moved since, read it again next time (a
        transaction is never shown with fewer confirmations than the chain gives it)."""
        with self._lock:
            kept = self._kept.get(("head", None))
            if kept is not None and isinstance(kept[1], int) and kept[1] < number:
                del self._kept[("head", None)]

    def nonce(self, address: str) -> int:
        return self.chain.nonce(address)

    def confirmed_nonce(self, address: str) -> int:
        return self.chain.confirmed_nonce(address)

    def balance(self, address: str) -> int:
        return self.chain.balance(address)

    def fees(self) -> Fees:
        return self.chain.fees()

    def send(self, raw: bytes) -> None:
        self.chain.send(raw)

    def is_known(self, tx_hash: str) -> bool:
        return self.chain.is_known(tx_hash)

    def mine(self, blocks: int) -> bool:
        return self.chain.mine(blocks)
