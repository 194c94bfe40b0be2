"""The consumers in processes of their own: the API in the serving process (or in ``serve
--workers``' API workers); the read model's projector in one process and the log, anchoring
and witness consumers (and, with ``transport=kafka``, the relay) in another, both kept running
by the serving process.

On the embedded default each SQLite file keeps one writing process at a time: the serving
process writes commands, the read-model process the read model, the consumers' process the log
and its anchors (and, once a batch, the events that record an anchor). With Kafka the two
processes read the topic as their consumer groups (the relay, which tracks its position in the
read model's database, needs PostgreSQL there). A request that wrote is answered once the read
model shows its write: the read-model process announces each position its projector reaches
down a pipe, and the waiting request wakes on it (while that process restarts, the request
polls the read model instead; API workers hear PostgreSQL's announcement). The serving process
runs the ledger's Anvil node, so a restart of the consumers does not restart the chain.
"""

from __future__ import annotations

import logging
from types import TracebackType

from anchors.checkpoint import NoteSigner
from consumers.anchor_consumer import connect_chain
from consumers.kafka_relay import RELAY
from ledger.api.app_context import ApiContext
from ledger.application.storage import Storage, open_storage
from ledger.operations import metrics as counted
from ledger.runtime.consumer_process import READ_MODEL, ConsumerProcess
from ledger.runtime.embedded import adopt_anchoring_key, served_context, trusted_witnesses
from ledger.settings import ConfigurationError, Settings

log = logging.getLogger("credledger.serve")

READ_MODEL_PROCESS = "read-model-projector-process"
CONSUMERS_PROCESS = "log-anchor-witness-consumers"
# How long serve waits for its read-model process to catch up before it opens the API.
READ_MODEL_START_SECONDS = 60.0


def consumers_apart(settings: Settings) -> bool:
    """Whether ``serve`` runs the consumers in processes of their own for ``settings``: asked
    for (the default), a chain another process can reach (not eth-tester inside this one) and,
    with Kafka, PostgreSQL (the relay and the projector both write the read model's database,
    and a SQLite file keeps one writing process)."""
    return (
        settings.consumers == "process"
        and settings.chain != "in-process"
        and (settings.transport == "embedded" or settings.store == "postgres")
    )


class SupervisedLedger:
    """Storage and the chain in this process; the read model's projector and the consumers in
    their own."""

    def __init__(self, settings: Settings) -> None:
        if not consumers_apart(settings):
            raise ConfigurationError(
                "the consumers run in processes of their own only with a chain other than "
                "in-process, and with transport=kafka only on PostgreSQL"
            )
        self.settings = settings
        counted.enable(settings.metrics)
        self.storage: Storage = open_storage(settings)
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
        self.read_model_process = ConsumerProcess(settings, None, role=READ_MODEL)
        self.consumers = ConsumerProcess(settings, node.url if node is not None else None)
        self._stopped = False

    def start(self) -> SupervisedLedger:
        self.read_model_process.start()
        self.consumers.start()
        # The API opens once the read model is kept: else the first write would wait for a
        # process to start (a second), and the readiness probe could not tell.
        assert self.read_model_process.positions is not None
        if not self.read_model_process.positions.first(READ_MODEL_START_SECONDS):
            log.warning(
                "the read-model process has not caught up in %.0f s; serving anyway",
                READ_MODEL_START_SECONDS,
            )
        return self

    def stop(self) -> None:
        """Stop the consumers' processes (each finishes its step), then the stores and the
        chain node."""
        if self._stopped:
            return
        self._stopped = True
        self.consumers.stop()
        self.read_model_process.stop()
        self.storage.close()
        self.chain.close()

    def _written(self) -> None:
        # The read-model process applies the write, the consumers' process logs it (through
        # Kafka: relays it, and the projector reads the topic); the request waits for the
        # position the first announces (ApiContext.written).
        self.read_model_process.wake()
        self.consumers.wake()

    def chain_url(self) -> str | None:
        """Where other processes reach the chain: the ledger's own node, or the configured
        RPC endpoint."""
        node = self.chain.node
        return node.url if node is not None else self.settings.chain_rpc_url

    def consumers_down(self) -> list[str]:
        """What of this deployment's consumers is not running (none once it is stopping)."""
        if self._stopped:
            return []
        down = [] if self.read_model_process.running() else [READ_MODEL_PROCESS]
        return down if self.consumers.running() else [*down, CONSUMERS_PROCESS]

    def api_context(self) -> ApiContext:
        return served_context(
            self.settings,
            self.storage,
            self.chain,
            self.signer,
            self.witnesses,
            on_write=self._written,
            consumers_down=self.consumers_down,
            relay_position=(
                (lambda: self.storage.read_model.tracked(RELAY))
                if self.settings.transport == "kafka"
                else None
            ),
            positions=self.read_model_process.positions,
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
