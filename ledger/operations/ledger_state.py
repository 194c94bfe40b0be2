"""What the stores and the chain say now, read when Prometheus scrapes.

Positions, sizes and ages are facts of the shared stores, the same whichever process answers
the scrape, so they are read there rather than counted: a restarted process reports them
right away, and several workers never add them up twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from anchors.anchoring import GAS_LIMIT, AnchorStore
from anchors.chain import Chain, ChainUnavailable
from anchors.log import LogStore, TransparencyLog
from ledger.domain.aggregates import ANCHORING_BOOKKEEPING
from ledger.operations.metrics import witness_name
from ledger.persistence.read_model import ReadModel

log = logging.getLogger("credledger.operations")

# The chain is asked at most this often, however many scrapers there are.
CHAIN_PROBE_SECONDS = 5.0
# Anchoring's own events wait for the next batch with others by design: never counted as waiting.
BOOKKEEPING = frozenset(event.__qualname__ for event in ANCHORING_BOOKKEEPING)


def waiting_since(store: LogStore, start: int, size: int, chunk: int = 16) -> float | None:
    """When the first entry from ``start`` on that is not anchoring bookkeeping was stored
    (Unix time); None if entries ``start`` to ``size`` hold none."""
    while start < size:
        for entry in store.entries(start, min(size, start + chunk)):
            envelope = json.loads(entry)
            if envelope.get("type") not in BOOKKEEPING:
                return datetime.fromisoformat(envelope["time"]).timestamp()
        start += chunk
    return None


@dataclass
class ChainProbe:
    """The chain's head and the anchoring account's balance, asked at most every few seconds."""

    chain: Chain
    address: str
    clock: Callable[[], float] = time.monotonic
    _last: tuple[float, dict[str, float]] | None = field(default=None, init=False)

    def read(self) -> dict[str, float]:
        now = self.clock()
        if self._last is not None and now - self._last[0] < CHAIN_PROBE_SECONDS:
            return self._last[1]
        found: dict[str, float] = {"up": 0.0}
        try:
            head = self.chain.head()
            balance = self.chain.balance(self.address)
            fees = self.chain.fees()
            found = {
                "up": 1.0,
                "head": float(head),
                "balance": float(balance),
                # What one anchor costs at most now: its gas at the fee it would be sent with.
                "anchors": float(balance // max(1, GAS_LIMIT * fees.max_fee_per_gas)),
            }
        except ChainUnavailable:
            pass
        except Exception as exc:  # a node answering nonsense is down for the operator too
            log.warning("the chain probe failed: %s", type(exc).__name__)
        self._last = (now, found)
        return found


@dataclass(eq=False)  # a registry keeps collectors by identity
class LedgerState:
    """A Prometheus collector over the ledger's stores (and the chain, when there is one)."""

    store_position: Callable[[], int]
    read_model: ReadModel
    log: TransparencyLog
    anchors: AnchorStore
    batch_age_seconds: float
    stall_seconds: float
    witnesses: frozenset[str] = frozenset()
    witness_quorum: int = 0
    chain: ChainProbe | None = None
    relay_position: Callable[[], int] | None = None
    clock: Callable[[], float] = time.time

    def describe(self) -> list[Metric]:
        return []  # read only when scraped: registering must not query the stores

    def collect(self) -> Iterator[Metric]:
        up = 1.0
        try:
            yield from self._stores()
        except Exception as exc:
            # The scrape still answers: that the store is out is what the operator must see.
            log.warning("metrics: the store is unavailable (%s)", type(exc).__name__)
            up = 0.0
        yield _gauge("credledger_store_up", "Whether the stores answered this scrape.", up)
        yield _gauge(
            "credledger_batch_age_setting_seconds",
            "The configured batch age: a batch with events closes after this long.",
            self.batch_age_seconds,
        )
        yield _gauge(
            "credledger_anchoring_stall_threshold_seconds",
            "How long an entry may wait for its anchor before anchoring counts as stalled.",
            self.stall_seconds,
        )
        if self.chain is not None:
            yield from self._chain(self.chain.read())

    def _stores(self) -> Iterator[Metric]:
        stored = self.store_position()
        read_model = self.read_model.position()
        size, log_position = self.log.store.state()
        latest = self.log.store.latest_checkpoint()
        checkpoint = latest[0] if latest is not None else 0
        tally = self.anchors.tally()
        now = self.clock()
        yield _gauge(
            "credledger_event_store_position", "Position of the last stored event.", stored
        )
        yield _gauge(
            "credledger_read_model_position",
            "Position of the last event the read model applied.",
            read_model,
        )
        yield _gauge(
            "credledger_read_model_lag_events",
            "Stored events the read model has not applied yet.",
            max(0, stored - read_model),
        )
        yield _gauge("credledger_log_size", "Entries in the transparency log.", size)
        yield _gauge(
            "credledger_log_lag_events",
            "Stored events not yet entered in the transparency log.",
            max(0, stored - log_position),
        )
        yield _gauge(
            "credledger_hashing_backlog_entries",
            "Log entries waiting for their documents to be hashed (the chain aside), as the "
            "anchoring last recorded: with the log's lag, what the intake gate compares.",
            self.anchors.hashing_backlog(),
        )
        yield _gauge(
            "credledger_checkpoint_size", "Size of the latest signed checkpoint.", checkpoint
        )
        yield _gauge(
            "credledger_batch_open_entries",
            "Log entries waiting for the next checkpoint (the open batch).",
            size - checkpoint,
        )
        yield _gauge(
            "credledger_batch_open_age_seconds",
            "Age of the oldest entry in the open batch, anchoring's own events aside (they "
            "wait for the next batch with others).",
            self._age_of(checkpoint, size, now),
        )
        batches = GaugeMetricFamily(
            "credledger_anchor_batches",
            "Batches in flight: pending (sent, not confirmed yet), confirmed (not yet recorded).",
            labels=["state"],
        )
        for state in ("pending", "confirmed"):
            batches.add_metric([state], tally.by_state.get(state, 0))
        yield batches
        yield _gauge(
            "credledger_anchored_size",
            "The largest checkpoint size anchored on chain.",
            tally.anchored_size,
        )
        yield _gauge(
            "credledger_unanchored_entries",
            "Log entries not yet covered by an anchor on chain.",
            size - tally.anchored_size,
        )
        yield _gauge(
            "credledger_oldest_unanchored_age_seconds",
            "Age of the oldest log entry not yet anchored, anchoring's own events aside (0: "
            "everything else is anchored).",
            self._age_of(tally.anchored_size, size, now),
        )
        yield _gauge(
            "credledger_anchoring_blocked",
            "1 while the chain refuses the anchoring transactions (see /health).",
            1.0 if self.anchors.blocked() is not None else 0.0,
        )
        if self.witnesses:
            yield from self._witnessed()
        if self.relay_position is not None:
            yield _gauge(
                "credledger_kafka_relay_lag_events",
                "Stored events the relay has not yet published to Kafka.",
                max(0, stored - self.relay_position()),
            )

    def _age_of(self, index: int, size: int, now: float) -> float:
        """How long the first entry from ``index`` on that waits for anything has (else 0)."""
        since = waiting_since(self.log.store, index, size)
        return 0.0 if since is None else max(0.0, now - since)

    def _witnessed(self) -> Iterator[Metric]:
        cosigned = self.log.store.cosigned_sizes(sorted(self.witnesses))
        sizes = GaugeMetricFamily(
            "credledger_witness_cosigned_size",
            "The largest checkpoint each trusted witness has cosigned.",
            labels=["witness"],
        )
        for key in sorted(self.witnesses):
            sizes.add_metric([witness_name(key)], cosigned.get(key, 0))
        yield sizes
        ranked = sorted(cosigned.values(), reverse=True)
        quorum = max(1, self.witness_quorum)
        yield _gauge(
            "credledger_witnessed_checkpoint_size",
            "The largest checkpoint size cosigned by a quorum of trusted witnesses.",
            ranked[quorum - 1] if len(ranked) >= quorum else 0,
        )
        yield _gauge(
            "credledger_witness_quorum", "Cosignatures a checkpoint needs.", self.witness_quorum
        )

    @staticmethod
    def _chain(found: dict[str, float]) -> Iterator[Metric]:
        yield _gauge("credledger_chain_up", "Whether the chain node answered.", found["up"])
        if found["up"]:
            yield _gauge("credledger_chain_head_block", "The chain's latest block.", found["head"])
            yield _gauge(
                "credledger_anchoring_balance_wei",
                "Balance of the anchoring account.",
                found["balance"],
            )
            yield _gauge(
                "credledger_anchoring_anchors_affordable",
                "Anchors the account's balance still pays for at the current fees.",
                found["anchors"],
            )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
