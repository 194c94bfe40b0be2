"""The embedded runtime: ledger, read model and an in-process projector thread."""

from __future__ import annotations

import threading
from types import TracebackType

from consumers.follower import NotificationFollower
from consumers.projector import ReadModelProjector
from ledger.api.app_context import ApiContext
from ledger.settings import Settings
from ledger.storage import Storage, open_storage


class EmbeddedLedger:
    """Opens storage for ``settings`` and keeps the read model following the event store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.storage: Storage = open_storage(settings)
        self.projector = ReadModelProjector(
            NotificationFollower(self.storage.ledger), self.storage.read_model
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(
            target=self.projector.run,
            args=(self._stop, self._wake),
            daemon=True,
            name="read-model-projector",
        )

    def start(self) -> EmbeddedLedger:
        self.projector.catch_up()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.storage.close()

    def api_context(self) -> ApiContext:
        return ApiContext(
            ledger=self.storage.ledger,
            read_model=self.storage.read_model,
            settings=self.settings,
            admin_token=self.settings.admin_token_value(),
            # Catch up in the request itself: the answer then reflects the write at once.
            on_write=self.projector.catch_up,
        )

    def __enter__(self) -> EmbeddedLedger:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
