"""The read model kept up to date in a process of its own (``serve``'s read-model process):
its projector follows the event store, woken by the serving process's pipe after each write
(or, with ``transport=kafka``, reads the topic as its consumer group, whose poll waits for
new events itself), and tells the serving process each position it reaches, for the requests
waiting to read their writes. One thread does it all: a thread to read the pipe and another to
project cost a single write a handoff of the interpreter's lock each way."""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from consumers.follower import NotificationFollower
from consumers.projector import ReadModelProjector
from ledger.application.storage import open_storage
from ledger.operations import heap
from ledger.settings import Settings

if TYPE_CHECKING:
    from consumers.kafka_follower import KafkaFollower


class PipeWake:
    """Waits for a byte on the pipe ``fd`` (any number of them is one wake); sets ``stop``
    when the pipe ends."""

    def __init__(self, fd: int, stop: threading.Event) -> None:
        self._fd = fd
        self._stop = stop

    def wait(self, timeout: float | None = None) -> bool:
        try:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                return False
            data = os.read(self._fd, 65536)
        except OSError:
            data = b""
        if not data:
            self._stop.set()
        return True

    def clear(self) -> None:
        """Nothing to clear: what woke it was read."""


def keep_read_model(
    settings: Settings, wake: PipeWake, stop: threading.Event, announce: Callable[[int], object]
) -> None:
    """Project the store's events into the read model whenever woken (or every half second)
    until ``stop`` is set, ``announce`` told each position reached."""
    storage = open_storage(settings)
    kafka: KafkaFollower | None = None
    try:
        if settings.transport == "kafka":
            # Imported here: the embedded default's process starts without the Kafka client.
            from consumers.kafka_follower import KafkaFollower

            kafka = KafkaFollower(storage.ledger, settings, settings.kafka_projector_group).start()
        follower = kafka or NotificationFollower(storage.ledger)
        storage.read_model.keep_places()
        projector = ReadModelProjector(follower, storage.read_model)
        heap.settle()
        # Through Kafka the follower's poll waits for new events: no pause between catch-ups
        # (the pipe is still read, for the end of the serving process).
        projector.run(stop, wake, interval=0.0 if kafka else 0.5, reached=announce)
    finally:
        if kafka is not None:
            kafka.stop()
        storage.close()
