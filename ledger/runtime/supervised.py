"""The embedded default on two cores: the API and the read model in the serving process, the
log, anchoring and witness consumers in a process of their own that it keeps running.

Each SQLite file keeps one writing process at a time: the serving process writes commands and
the read model, the consumers' process the log and its anchors (and, once a batch, the events
that record an anchor, which the serving process's projector then applies). The serving
process runs the ledger's Anvil node, so a restart of the consumers does not restart the chain.
"""

from __future__ import annotations

import threading
from types import TracebackType

from anchors.checkpoint import NoteSigner
from consumers.anchor_consumer import connect_chain
from consumers.follower import NotificationFollower
from consumers.projector import ReadModelProjector
from ledger.api.app_context import ApiContext
from ledger.application.storage import Storage, open_storage
from ledger.operations import metrics as counted
from ledger.runtime.consumer_process import ConsumerProcess
from ledger.runtime.embedded import adopt_anchoring_key, served_context, trusted_witnesses
from ledger.settings import ConfigurationError, Settings

PROJECTOR = "read-model-projector"
CONSUMERS = "log-anchor-witness-consumers"


def consumers_apart(settings: Settings) -> bool:
    """Whether ``serve`` runs the consumers in a process of their own for ``settings``: asked
    for (the default), events followed in the store (Kafka has its own arrangement), and a
    chain another process can reach (not eth-tester inside this one)."""
    return (
        settings.consumers == "process"
        and settings.transport == "embedded"
        and settings.chain != "in-process"
    )


class SupervisedLedger:
    """Storage, the read model and the chain in this process; the consumers in their own."""

    def __init__(self, settings: Settings) -> None:
        if not consumers_apart(settings):
            raise ConfigurationError(
                "the consumers run in a process of their own only with transport=embedded "
                "and a chain other than in-process"
            )
        self.settings = settings
        counted.enable(settings.metrics)
        self.storage: Storage = open_storage(settings)
        self.projector = ReadModelProjector(
            NotificationFollower(self.storage.ledger), self.storage.read_model
        )
        self.signer = NoteSigner.from_seed(settings.log_origin_value(), settings.log_key_seed())
        self.witnesses = trusted_witnesses(settings)
        self.chain = connect_chain(settings)
        try:
            adopt_anchoring_key(self.storage, self.chain)
        except ConfigurationError:
            self.chain.close()
            self.storage.close()
            raise
        node = self.chain.node
        self.consumers = ConsumerProcess(settings, node.url if node is not None else None)
        self._stop = threading.Event()
        self._wake_projector = threading.Event()
        # The projector also applies what the consumers' process records (anchors), which
        # no request here waits for.
        self._projector_thread = threading.Thread(
            target=self.projector.run,
            args=(self._stop, self._wake_projector),
            daemon=True,
            name=PROJECTOR,
        )

    def start(self) -> SupervisedLedger:
        self.projector.catch_up()
        self._projector_thread.start()
        self.consumers.start()
        return self

    def stop(self) -> None:
        """Stop the consumers' process (it finishes its step), then the projector, the stores
        and the chain node."""
        if self._stop.is_set():
            return
        self.consumers.stop()
        self._stop.set()
        self._wake_projector.set()
        if self._projector_thread.is_alive():
            self._projector_thread.join(timeout=10)
        self.storage.close()
        self.chain.close()

    def _written(self) -> int:
        # The read model is caught up in the request, so the answer reflects the write; the
        # consumers' process is told there is something to log.
        reached = self.projector.catch_up()
        self.consumers.wake()
        return reached

    def consumers_down(self) -> list[str]:
        """What of this deployment's consumers is not running (none once it is stopping)."""
        if self._stop.is_set():
            return []
        down = [] if self._projector_thread.is_alive() else [PROJECTOR]
        return down if self.consumers.running() else [*down, CONSUMERS]

    def api_context(self) -> ApiContext:
        return served_context(
            self.settings,
            self.storage,
            self.chain,
            self.signer,
            self.witnesses,
            on_write=self._written,
            consumers_down=self.consumers_down,
        )

    def __enter__(self) -> SupervisedLedger:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
