"""The anchor consumer: every signed checkpoint anchored on chain, recorded as events."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from eth_account import Account
from eth_account.signers.local import LocalAccount

from anchors.anchor_tree import checkpoint_leaf
from anchors.anchoring import Anchorer, AnchorRecord
from anchors.anvil import ManagedAnvil, NodeSupervisor, dev_account, find_anvil, remembered_port
from anchors.chain import Chain, ChainRejected, ChainUnavailable
from anchors.ethereum import Web3Chain
from anchors.log import LogStore, TransparencyLog
from consumers.document_leaves import DocumentLeaves
from ledger.application.service import Ledger
from ledger.domain import json_text
from ledger.operations.ledger_state import waiting_since
from ledger.operations.metrics import count_anchor, metrics
from ledger.operations.metrics import enabled as counting
from ledger.settings import ConfigurationError, Settings

log = logging.getLogger("credledger.anchoring")

# How long after adopting a key the first transaction with it is sent.
KEY_MARGIN_SECONDS = 2.0
# How often the anchor consumer looks whether anchoring has stalled.
STALL_CHECK_SECONDS = 5.0
# How often, at most, the hashing backlog is recorded for the API's intake gate to read.
BACKLOG_REPORT_SECONDS = 0.25
# Entries past a batch just sent whose documents are handed to the hashing processes at once
# (a batch at the default size): while checkpoints keep coming, the thread never waits for the
# chain, and the next batch was hashed only once it closed, with this thread waiting for it.
# More at once would hold back the record of the batch sent.
PREPARE_AFTER_OPEN = 1000


@dataclass
class ChainConnection:
    chain: Chain
    account: LocalAccount
    node: ManagedAnvil | None = None
    supervisor: NodeSupervisor | None = None

    def close(self) -> None:
        if isinstance(self.chain, Web3Chain):
            self.chain.close()
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.node is not None:
            self.node.stop()


def connect_chain(settings: Settings, node_url: str | None = None) -> ChainConnection:
    """The chain and anchoring account that ``settings`` select; starts Anvil if it is ours.

    ``node_url``: the ledger's own Anvil node already runs (started by the serving process,
    which keeps it running); connect to it instead of starting another.
    """
    if node_url is not None and settings.chain == "anvil":
        key = settings.anchoring_key_value()
        account = Account.from_key(key) if key is not None else dev_account()
        return ChainConnection(Web3Chain.connect(node_url), account)
    if settings.chain == "in-process":
        from eth_tester.backends.pyevm.main import get_default_account_keys
        from web3 import EthereumTesterProvider

        key = get_default_account_keys()[0].to_hex()
        return ChainConnection(Web3Chain(EthereumTesterProvider()), Account.from_key(key))
    key = settings.anchoring_key_value()
    if settings.chain == "rpc":
        if not settings.chain_rpc_url or key is None:
            raise ConfigurationError(
                "chain=rpc needs CREDLEDGER_CHAIN_RPC_URL and CREDLEDGER_CHAIN_PRIVATE_KEY"
            )
        connection = ChainConnection(
            Web3Chain.connect(settings.chain_rpc_url), Account.from_key(key)
        )
    else:
        binary = find_anvil(settings.anvil_path)
        if binary is None:
            raise ConfigurationError(
                "no anvil binary: run `npm install --prefix .deploy/anvil @foundry-rs/anvil` "
                "(the README's first command does), set CREDLEDGER_ANVIL_PATH, or configure "
                "CREDLEDGER_CHAIN=rpc with a JSON-RPC URL"
            )
        node = ManagedAnvil(
            binary,
            settings.data_dir / "anvil-state.json",
            chain_id=settings.anvil_chain_id,
            port=settings.anvil_port or remembered_port(settings.data_dir / "anvil-port"),
        )
        node.start()
        supervisor = NodeSupervisor(node).start()
        log.info("local chain (Anvil, chain id %d) at %s", settings.anvil_chain_id, node.url)
        account = Account.from_key(key) if key is not None else dev_account()
        connection = ChainConnection(Web3Chain.connect(node.url), account, node, supervisor)
    if settings.chain_id is not None:
        reported = connection.chain.chain_id()
        if reported != settings.chain_id:
            connection.close()
            raise ConfigurationError(
                f"the node reports chain id {reported}, the configuration says {settings.chain_id}"
            )
    return connection


_TIME_KEY = b'"time":"'
# An entry's last bytes that hold its time: the time and the short type and version after it.
ENTRY_END_BYTES = 160


def _stored_at(entry: bytes) -> float:
    """When a log entry's event was stored. An entry is canonical JSON with its keys in
    order, and only ``type`` and ``v`` (a string and a number) follow the top-level ``time``;
    a quote inside a string is escaped: so the last ``"time":"`` is the envelope's own, found
    without parsing the entry's few kilobytes."""
    at = entry.rfind(_TIME_KEY) + len(_TIME_KEY)
    if at < len(_TIME_KEY):
        return float(datetime.fromisoformat(json_text.loads(entry)["time"]).timestamp())
    return datetime.fromisoformat(entry[at : entry.index(b'"', at)].decode()).timestamp()


def stored_times(store: LogStore, start: int, stop: int) -> list[float]:
    """When the events of the log's entries at indexes [start, stop) were stored, read from
    each entry's last bytes (a whole entry only where they do not hold its time)."""
    times = []
    for index, end in enumerate(store.entry_ends(start, stop, ENTRY_END_BYTES), start):
        if _TIME_KEY not in end:  # a type name longer than any the ledger has
            end = store.entries(index, index + 1)[0]
        times.append(_stored_at(end))
    return times


class AnchorConsumer:
    """Opens an anchor for each checkpoint in turn, follows it to confirmation, records it."""

    def __init__(
        self,
        log_: TransparencyLog,
        anchorer: Anchorer,
        ledger: Ledger,
        origin: str,
        public_url: str = "http://127.0.0.1:8000",
        hash_processes: int = 0,
        stall_after: float = 300.0,
    ) -> None:
        self.log = log_
        self.anchorer = anchorer
        self.ledger = ledger
        self.origin = origin
        self.public_url = public_url
        self._lock = threading.Lock()
        self._key_valid_from: float | None = None
        self.leaves = DocumentLeaves(ledger, log_, public_url, hash_processes)
        self.stall_after = stall_after
        self._stalled = False
        self._stall_checked = float("-inf")
        self._backlog_reported: int | None = None
        self._backlog_reported_at = float("-inf")

    def step(self) -> bool:
        """Move anchoring forward as far as the chain allows now; never raises for outages.
        True if an anchor moved (sent, mined, confirmed or recorded): the next step may find
        more to do at once."""
        moved = False
        with self._lock:
            try:
                moved = self._step()
            except (ChainUnavailable, ChainRejected) as exc:
                log.warning("anchoring waits for the chain: %s", exc)
            except Exception:
                # Keep the thread alive: what was stored stays stored, the next step resumes.
                log.exception("anchoring step failed; retrying")
            # Whatever stopped this step (a chain that does not answer, most of all).
            try:
                self._watch_stall()
            except Exception as exc:
                log.debug("the stall check could not read the log: %s", type(exc).__name__)
            try:
                self._report_backlog()
            except Exception as exc:
                log.debug("the hashing backlog was not recorded: %s", type(exc).__name__)
        return moved

    def _step(self) -> bool:
        moved = False
        for orphan in self.anchorer.orphaned():
            moved = True
            assert orphan.tx_hash is not None and orphan.block_hash is not None
            log.warning(
                "anchor of checkpoint %d orphaned: its block %s left the chain; re-anchoring",
                orphan.checkpoint_size,
                orphan.block_number,
            )
            count_anchor("orphaned")
            self.ledger.record_orphan(
                self.origin, orphan.checkpoint_size, orphan.tx_hash, orphan.block_hash
            )
        in_flight = self.anchorer.in_flight()
        if in_flight is not None:
            advanced = self.anchorer.advance(in_flight)
            if advanced.state == "confirmed":
                moved = True
                count_anchor("confirmed")
            elif (
                len(advanced.attempts) > len(in_flight.attempts)
                and advanced.nonce == in_flight.nonce
            ):
                log.warning(
                    "anchor of checkpoint %d not mined after %.0f s: replaced with a higher fee",
                    advanced.checkpoint_size,
                    self.anchorer.replace_after,
                )
                count_anchor("replaced")
        for record in self.anchorer.store.unfinished():
            if record.state == "confirmed":
                moved = True
                self._record(record)
        after = self.anchorer.store.latest_size()
        upcoming = self.log.store.checkpoints(after, 1)
        if upcoming and self.anchorer.in_flight() is None and self._key_is_valid():
            size, note = upcoming[0]
            leaves, documents = self.leaves.take(after, size)
            self.anchorer.open(
                size, note, [checkpoint_leaf(note), *leaves], documents, self.public_url
            )
            moved = True
            count_anchor("sent")
            # The next batch's documents are hashed while this one is mined and recorded.
            self.leaves.ahead(size, self.log.size(), most=PREPARE_AFTER_OPEN)
        else:
            # Waiting for the chain or for the batch to close: hash what the log has so far.
            self.leaves.ahead(after, self.log.size())
        if counting():
            metrics().document_queue.set(self.leaves.waiting())
        return moved

    def _report_backlog(self) -> None:
        """Record the entries waiting for their documents' hashes when that changed, at most
        every :data:`BACKLOG_REPORT_SECONDS` (a write to the store each step would cost more
        than the gate that reads it saves)."""
        now = time.monotonic()
        if now - self._backlog_reported_at < BACKLOG_REPORT_SECONDS:
            return
        self._backlog_reported_at = now
        behind = self.leaves.behind(self.log.size())
        if behind != self._backlog_reported:
            self.anchorer.store.set_hashing_backlog(behind)
            self._backlog_reported = behind

    def _key_is_valid(self) -> bool:
        """Whether a block mined now is strictly after the anchoring key's adoption, as a
        verifier requires (profiles give whole seconds; keep a margin for clocks)."""
        if self._key_valid_from is None:
            keys = self.ledger.anchoring_keys()
            if not keys:
                return True
            created = datetime.fromisoformat(str(keys[-1]["created"]).replace("Z", "+00:00"))
            self._key_valid_from = created.timestamp() + KEY_MARGIN_SECONDS
        return time.time() >= self._key_valid_from

    def _record(self, record: AnchorRecord) -> None:
        assert record.tx_hash and record.block_hash
        assert record.block_number is not None and record.block_time is not None
        previous = self.anchorer.store.tally().recorded_size
        self.ledger.record_anchor({"origin": self.origin, **record.mined()})
        self.anchorer.mark_recorded(record)
        first, last = self._anchored(previous, record.checkpoint_size)
        log.info(
            "anchored checkpoint %d (event positions %d-%d) in block %d, transaction %s",
            record.checkpoint_size,
            first,
            last,
            record.block_number,
            record.tx_hash,
            extra={
                "fields": {
                    "checkpoint_size": record.checkpoint_size,
                    "first_position": first,
                    "last_position": last,
                    "block_number": record.block_number,
                    "tx_hash": record.tx_hash,
                }
            },
        )

    def _anchored(self, start: int, size: int) -> tuple[int, int]:
        """The first and last event positions of log entries ``start`` to ``size``, each
        entry's time from store to anchor observed."""
        positions = self.log.store.positions(start, size)
        if counting():
            now = time.time()
            waited = metrics().event_to_anchored
            for stored in stored_times(self.log.store, start, size):
                waited.observe(max(0.0, now - stored))
        return (positions[0], positions[-1]) if positions else (0, 0)

    def _watch_stall(self) -> None:
        """An error while entries stay unanchored far longer than a batch takes (once, and a
        line when anchoring goes on again): the operator's alert says the same. Looked at
        every few seconds, not on every step."""
        if time.monotonic() - self._stall_checked < STALL_CHECK_SECONDS:
            return
        self._stall_checked = time.monotonic()
        tally = self.anchorer.store.tally()
        size = self.log.size()
        oldest = waiting_since(self.log.store, tally.anchored_size, size)
        stalled = oldest is not None and time.time() - oldest > self.stall_after
        if stalled and not self._stalled:
            log.error(
                "anchoring stalled: %d log entries unanchored, the oldest for %.0f s",
                size - tally.anchored_size,
                time.time() - (oldest or 0),
            )
        elif self._stalled and not stalled:
            log.info("anchoring goes on again: the stalled entries are anchored")
        self._stalled = stalled

    def close(self) -> None:
        """Stop the document hashing processes."""
        self.leaves.close()

    def run(self, stop: threading.Event, wake: threading.Event, interval: float = 0.5) -> None:
        """Step until stopped: at once again after a step that moved an anchor (a development
        chain mines at once, a backlog has the next checkpoint ready), else after ``interval``
        or when woken."""
        while not stop.is_set():
            if self.step():
                continue
            wake.wait(interval)
            wake.clear()
