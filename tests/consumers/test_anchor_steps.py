"""When the anchoring steps: at once when the log tells it of new entries or a new checkpoint
(their documents go to the hashing, the checkpoint to the chain), not at its next poll; at
its interval when nothing tells it."""

from __future__ import annotations

import threading

from consumers.anchor_consumer import AnchorConsumer
from tests.conftest import RunningLedger, wait_for


class CountedSteps:
    """An anchor consumer whose steps are counted and do nothing."""

    def __init__(self, ledger: RunningLedger) -> None:
        storage = ledger.embedded.storage
        self.consumer = AnchorConsumer(
            storage.log,
            ledger.embedded.anchorer,
            storage.ledger,
            ledger.embedded.settings.log_origin_value(),
        )
        self.steps = 0
        self.consumer.step = self._step  # type: ignore[method-assign]
        self.stop, self.wake = threading.Event(), threading.Event()

    def _step(self) -> bool:
        self.steps += 1
        return False

    def run(self, interval: float) -> threading.Thread:
        thread = threading.Thread(
            target=self.consumer.run, args=(self.stop, self.wake, interval), daemon=True
        )
        thread.start()
        return thread

    def end(self, thread: threading.Thread) -> None:
        self.stop.set()
        self.wake.set()
        thread.join(timeout=10)


def test_the_anchoring_woken_by_the_log_steps_without_waiting_for_its_interval(
    ledger: RunningLedger,
) -> None:
    counted = CountedSteps(ledger)
    thread = counted.run(interval=3600.0)
    try:
        wait_for(lambda: counted.steps == 1)
        counted.wake.set()
        wait_for(lambda: counted.steps == 2)
        counted.wake.set()
        wait_for(lambda: counted.steps == 3)
    finally:
        counted.end(thread)


def test_the_anchoring_not_woken_steps_at_its_interval(ledger: RunningLedger) -> None:
    counted = CountedSteps(ledger)
    thread = counted.run(interval=0.1)
    try:
        wait_for(lambda: counted.steps >= 3)
    finally:
        counted.end(thread)
