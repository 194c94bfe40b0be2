"""The log consumer: every stored event into the transparency log, in order, exactly once;
batches closed by size or age with a signed checkpoint."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from anchors.checkpoint import NoteSigner
from anchors.log import LogStoreConflict, TransparencyLog
from consumers.envelope import entry
from consumers.follower import Follower
from ledger.domain.aggregates import ANCHORING_BOOKKEEPING

log = logging.getLogger("credledger.log")


class LogConsumer:
    """Follows the event store into the log; the log's own state records how far it got."""

    def __init__(
        self,
        follower: Follower,
        log: TransparencyLog,
        signer: NoteSigner,
        origin: str,
        batch_size: int,
        batch_age: float,
        clock: Callable[[], float] = time.monotonic,
        gather: float | None = None,
    ) -> None:
        self._follower = follower
        self.log = log
        self._signer = signer
        self.origin = origin
        self._batch_size = batch_size
        self._batch_age = batch_age
        self._clock = clock
        # How long a consumer woken from idle waits for the writes right behind the first, to
        # append them in one transaction: the log's own write per single write was most of
        # its process's work. A hundredth of the batch age (at most 20 ms) delays no anchor.
        self._gather = min(0.02, batch_age / 100) if gather is None else gather
        self._opened_at: float | None = None
        # Whether the open batch holds anything but anchoring bookkeeping. Only such a batch
        # closes by age: otherwise each anchor's own event would call for the next anchor.
        # Unknown after a restart, so assumed (at most one extra batch).
        self._substantive = True
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Append every stored event not yet in the log, closing batches as they fill."""
        with self._lock:
            size, position = self.log.store.state()
            # Kept here as the batch fills, not read again for every append: it can only
            # overstate (another consumer's checkpoint), and then a batch closes early. A
            # batch already full (a smaller batch size since) closes first.
            pending = self._close_if_due(self._pending(size))
            while batch := self._follower.after(position):
                batch = batch[: self._batch_size - pending]
                entries = [entry(stored.position, stored.event) for stored in batch]
                try:
                    self.log.append(entries, [stored.position for stored in batch])
                except LogStoreConflict:
                    # Another consumer appended first; continue from where it got to.
                    size, position = self.log.store.state()
                    pending = self._pending(size)
                    continue
                position = batch[-1].position
                pending += len(batch)
                if self._opened_at is None:
                    self._opened_at = self._clock()
                if any(not isinstance(stored.event, ANCHORING_BOOKKEEPING) for stored in batch):
                    self._substantive = True
                pending = self._close_if_due(pending)
            self._close_if_due(pending)
            self._follower.commit_through(position)
            return position

    def _pending(self, size: int) -> int:
        """Entries of a log of ``size`` beyond its latest checkpoint."""
        latest = self.log.store.latest_checkpoint()
        return size - (latest[0] if latest else 0)

    def _close_if_due(self, pending: int) -> int:
        """Close the open batch if it is full or old enough; what is pending after."""
        if pending == 0:
            self._opened_at = None
            return 0
        opened = self._opened_at if self._opened_at is not None else self._clock()
        self._opened_at = opened
        aged = self._substantive and self._clock() - opened >= self._batch_age
        if pending >= self._batch_size or aged:
            self.close_batch()
            return 0
        return pending

    def close_batch(self) -> tuple[int, str]:
        """Sign a checkpoint of everything appended so far."""
        self._opened_at = None
        self._substantive = False
        return self.log.sign_checkpoint(self._signer, self.origin)

    def run(
        self, stop: threading.Event, wake: threading.Event, interval: float | None = None
    ) -> None:
        """Catch up whenever woken, and at least every quarter of the batch age. Woken from
        idle, it first gathers the writes that follow (see ``gather``); woken while it was
        catching up, it goes on at once."""
        interval = min(0.5, self._batch_age / 4) if interval is None else interval
        while not stop.is_set():
            try:
                self.catch_up()
            except Exception:
                # A database or broker outage: the log keeps what it appended; retry.
                log.exception("the log consumer failed; retrying")
                stop.wait(1.0)
            if not wake.is_set() and wake.wait(interval) and self._gather > 0:
                stop.wait(self._gather)
            wake.clear()
