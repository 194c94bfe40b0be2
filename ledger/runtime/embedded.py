"""The embedded runtime: ledger, read model and transparency log, with their consumers running
in threads of the same process (``credledger consume``, ``CREDLEDGER_CONSUMERS=thread``, and
the consumers' own process under :mod:`ledger.runtime.supervised`)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType

from anchors.anchoring import Anchorer
from anchors.chain import ChainUnavailable
from anchors.chain_view import RecentChainView
from anchors.checkpoint import NoteSigner
from anchors.cosignature import CosignatureVerifier
from anchors.merkle import VerificationError
from anchors.tlog_witness import WitnessClient
from anchors.witness import verify_possession
from consumers.anchor_consumer import AnchorConsumer, ChainConnection, connect_chain
from consumers.follower import Follower, NotificationFollower, RelayedFollower
from consumers.kafka_connection import client_options
from consumers.kafka_follower import KafkaFollower
from consumers.kafka_relay import RELAY, KafkaRelay
from consumers.log_consumer import LogConsumer
from consumers.projector import ReadModelProjector
from consumers.witness_submitter import WitnessSubmitter
from ledger.api.app_context import ApiContext
from ledger.application.storage import Storage, open_storage
from ledger.domain.errors import AnchoringKeyChanged
from ledger.operations import metrics as counted
from ledger.persistence.read_model import PositionNotices
from ledger.persistence.recent_notifications import remember_recent_notifications
from ledger.settings import ConfigurationError, Settings


def tlog_witness_keys(settings: Settings) -> list[tuple[str, CosignatureVerifier]]:
    """The configured C2SP witnesses: (URL, cosignature/v1 verifier), each checked."""
    found = []
    for witness in settings.tlog_witnesses:
        url, key = witness.get("url", ""), witness.get("key", "")
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"tlog witness url {url!r} is not an http(s) URL")
        try:
            found.append((url, CosignatureVerifier(key)))
        except VerificationError as exc:
            raise ConfigurationError(str(exc)) from None
    return found


def tlog_witnesses(settings: Settings) -> list[WitnessClient]:
    """A client for each configured C2SP witness."""
    return [WitnessClient(url, verifier) for url, verifier in tlog_witness_keys(settings)]


def trusted_witnesses(settings: Settings) -> frozenset[str]:
    """The configured witness keys, each checked against its proof of possession."""
    keys = []
    for witness in settings.witnesses:
        if not verify_possession(witness.get("key", ""), witness.get("proof", "")):
            raise ConfigurationError(
                f"witness key {witness.get('key', '')[:16]}… lacks a valid proof of possession"
            )
        keys.append(witness["key"])
    if settings.witness_quorum > len(keys) + len(settings.tlog_witnesses):
        raise ConfigurationError("the witness quorum is larger than the number of witnesses")
    return frozenset(keys)


def adoption_time(chain: ChainConnection) -> datetime:
    """When the first anchoring key counts as adopted: now, or just before the chain's latest
    block if the chain's clock is behind (verifiers compare block times with it)."""
    now = datetime.now(UTC)
    try:
        block = chain.chain.block(chain.chain.head())
    except ChainUnavailable:
        return now
    if block is None:
        return now
    return min(now, datetime.fromtimestamp(block[1], UTC)) - timedelta(seconds=1)


def adopt_anchoring_key(storage: Storage, chain: ChainConnection) -> None:
    """Record the anchoring address (issuer profiles list it from now on); a key changed by
    configuration alone (not by `credledger anchoring-key rotate`) is refused."""
    try:
        storage.ledger.adopt_anchoring_key(chain.account.address, adoption_time(chain))
    except AnchoringKeyChanged as exc:
        raise ConfigurationError(exc.detail) from exc


def served_context(
    settings: Settings,
    storage: Storage,
    chain: ChainConnection,
    signer: NoteSigner,
    witnesses: frozenset[str],
    on_write: Callable[[], int | None],
    consumers_down: Callable[[], list[str]],
    relay_position: Callable[[], int] | None = None,
    positions: PositionNotices | None = None,
) -> ApiContext:
    """The API's context in the process that runs the chain connection (and the read model's
    projector, unless ``positions`` announces what another process's projector reached)."""
    return ApiContext(
        ledger=storage.ledger,
        read_model=storage.read_model,
        log=storage.log,
        anchors=storage.anchors,
        wallet_sessions=storage.wallet_sessions,
        chain=RecentChainView(chain.chain),
        confirmations=settings.confirmations,
        log_origin=settings.log_origin_value(),
        witnesses=witnesses,
        witness_quorum=settings.witness_quorum,
        tlog_witnesses=tuple(key.vkey for _, key in tlog_witness_keys(settings)),
        chain_info={
            "chain_id": chain.chain.chain_id(),
            "anchoring_address": chain.account.address,
            # A node the ledger runs itself is on this machine: verifiers here can use it.
            "local_rpc_url": chain.node.url if chain.node else None,
        },
        log_verifier_key=signer.verifier_key(),
        settings=settings,
        admin_token=settings.admin_token_value(),
        on_write=on_write,
        consumers_down=consumers_down,
        relay_position=relay_position,
        positions=positions,
    )


class EmbeddedLedger:
    """Opens storage for ``settings`` and keeps the read model and the log following it.

    ``chain``: a connection made already (else the one ``settings`` select is made here).
    ``project``: whether the read model is kept here (another process may keep it).
    """

    def __init__(
        self, settings: Settings, *, chain: ChainConnection | None = None, project: bool = True
    ) -> None:
        self.settings = settings
        self._project = project
        counted.enable(settings.metrics)
        if settings.transport == "kafka":
            client_options(settings)  # an incomplete security setting stops the start here
        self.storage: Storage = open_storage(settings)
        # The anchoring reads again, to build their documents, the events the relay or the
        # log's follower has just read in this process: from memory.
        self.recent_notifications = remember_recent_notifications(self.storage.ledger)
        self.relay: KafkaRelay | None = None
        self._kafka_followers: list[KafkaFollower] = []
        if project:
            self.storage.read_model.keep_places()
        self.projector = ReadModelProjector(
            self._follower(settings.kafka_projector_group), self.storage.read_model
        )
        self.signer = NoteSigner.from_seed(settings.log_origin_value(), settings.log_key_seed())
        self.witnesses = trusted_witnesses(settings)
        self.log_consumer = LogConsumer(
            self._log_follower(),
            self.storage.log,
            self.signer,
            settings.log_origin_value(),
            batch_size=settings.batch_size,
            batch_age=settings.batch_age_seconds,
        )
        self.chain = chain if chain is not None else connect_chain(settings)
        self.anchorer = Anchorer(
            self.chain.chain,
            self.chain.account,
            self.storage.anchors,
            confirmations=settings.confirmations,
            replace_after=settings.anchor_replace_after_seconds,
        )
        try:
            adopt_anchoring_key(self.storage, self.chain)
        except ConfigurationError:
            self.chain.close()
            self.storage.close()
            raise
        self.anchor_consumer = AnchorConsumer(
            self.storage.log,
            self.anchorer,
            self.storage.ledger,
            settings.log_origin_value(),
            public_url=settings.public_url_value(),
            hash_processes=settings.hash_processes,
            stall_after=settings.anchoring_stall_seconds(),
        )
        self._stop = threading.Event()
        self._wake_projector = threading.Event()
        self._wake_log = threading.Event()
        self._wake_anchor = threading.Event()
        self._wake_relay = threading.Event()
        if settings.transport == "kafka":
            self.relay = KafkaRelay(
                self.storage.ledger,
                self.storage.read_model,
                settings,
                notices=self.storage.event_notices(),
                on_published=self._wake_log.set,
            )
        self.witness_submitter = WitnessSubmitter(
            self.storage.log, tlog_witnesses(settings), settings.tlog_witness_seconds
        )
        self._threads = [
            self._thread("log-consumer", self.log_consumer.run, self._wake_log),
            self._thread("anchor-consumer", self.anchor_consumer.run, self._wake_anchor),
        ]
        if project:
            # Through Kafka, the projector's poll itself waits for new messages: no pause between.
            projecting = functools.partial(
                self.projector.run, interval=0.0 if self.relay is not None else 0.5
            )
            self._threads.insert(
                0, self._thread("read-model-projector", projecting, self._wake_projector)
            )
        if self.relay is not None:
            self._threads.append(self._thread("kafka-relay", self.relay.run, self._wake_relay))
        if self.witness_submitter.witnesses:
            self._threads.append(
                self._thread("witness-submitter", self.witness_submitter.run, threading.Event())
            )

    def _log_follower(self) -> Follower:
        """The log's transport: through Kafka, what the relay beside it read from the store."""
        if self.settings.transport == "kafka" and self.recent_notifications is not None:
            return RelayedFollower(self.storage.ledger, self.recent_notifications)
        return NotificationFollower(self.storage.ledger)

    def _follower(self, group_id: str) -> Follower:
        """The transport a consumer reads the store's events through."""
        if self.settings.transport != "kafka":
            return NotificationFollower(self.storage.ledger)
        follower = KafkaFollower(self.storage.ledger, self.settings, group_id).start()
        self._kafka_followers.append(follower)
        return follower

    def _thread(
        self,
        name: str,
        run: Callable[[threading.Event, threading.Event], None],
        wake: threading.Event,
    ) -> threading.Thread:
        return threading.Thread(target=run, args=(self._stop, wake), daemon=True, name=name)

    def start(self) -> EmbeddedLedger:
        if self.relay is not None:
            self.relay.start()
        elif self._project:
            self.projector.catch_up()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        for wake in (self._wake_projector, self._wake_log, self._wake_anchor, self._wake_relay):
            wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=10)
        self.anchor_consumer.close()
        self.witness_submitter.close()
        if self.relay is not None:
            self.relay.stop()
        for follower in self._kafka_followers:
            follower.stop()
        self.storage.close()
        self.chain.close()

    def wake_consumers(self) -> None:
        """Have the Kafka relay (if any) and the log consumer look for new events now (not at
        their next poll)."""
        self._wake_relay.set()
        self._wake_log.set()

    def _written(self) -> int | None:
        if self.relay is not None:
            # Through Kafka: the relay publishes, the consumers follow; the request waits for
            # the read model to catch up (ApiContext.written).
            for wake in (self._wake_relay, self._wake_projector, self._wake_log):
                wake.set()
            return None
        # The read model is caught up in the request, so the answer reflects the write; the
        # log follows in its own thread.
        reached = self.projector.catch_up()
        self._wake_log.set()
        return reached

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
                (lambda: self.storage.read_model.tracked(RELAY)) if self.relay is not None else None
            ),
        )

    def consumers_down(self) -> list[str]:
        """The consumer threads that stopped (none once the ledger is stopping)."""
        if self._stop.is_set():
            return []
        return [thread.name for thread in self._threads if not thread.is_alive()]

    def __enter__(self) -> EmbeddedLedger:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
