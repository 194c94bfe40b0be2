"""The read model kept up to date in a process of its own (``serve``'s read-model process):
its projector follows the event store, and tells the serving process each position it reaches,
for the requests waiting to read their writes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from consumers.follower import NotificationFollower
from consumers.projector import ReadModelProjector
from ledger.application.storage import open_storage
from ledger.settings import Settings

PROJECTOR = "read-model-projector"


class ReadModelKeeper:
    """Storage opened for ``settings`` and the read-model projector in a thread, ``announce``
    told each position it reaches."""

    def __init__(self, settings: Settings, announce: Callable[[int], object] | None) -> None:
        self.storage = open_storage(settings)
        self.projector = ReadModelProjector(
            NotificationFollower(self.storage.ledger), self.storage.read_model
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(
            target=self.projector.run,
            args=(self._stop, self._wake),
            kwargs={"reached": announce},
            daemon=True,
            name=PROJECTOR,
        )

    def start(self) -> ReadModelKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the projector (it finishes its transaction), then the stores."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.storage.close()

    def wake(self) -> None:
        """Have the projector look for new events now (not at its next poll)."""
        self._wake.set()

    def consumers_down(self) -> list[str]:
        """The projector, if it stopped (nothing once stopping)."""
        if self._stop.is_set() or self._thread.is_alive():
            return []
        return [PROJECTOR]

    def __enter__(self) -> ReadModelKeeper:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
