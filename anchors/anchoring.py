"""Anchoring batches on chain, exactly once, across crashes, outages and re-organisations.

Each batch (a signed checkpoint with its anchor tree) gets one intent: the nonce and the signed
raw transaction are stored *before* they are broadcast. From then on the batch only ever moves
forward from what is stored: a restart finds the transaction on chain or broadcasts the same
bytes again; a transaction that waits too long is replaced with the same nonce and a higher
fee, so at most one of them can be mined; a batch whose block is re-organised away goes back
to waiting for (or re-broadcasting) its transaction. One batch is in flight at a time.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import orjson

from anchors.anchor_tree import AnchorTree
from anchors.chain import BURN_ADDRESS, Chain, ChainRejected, Fees, confirmations_of

if TYPE_CHECKING:
    # Only the anchoring consumer signs: a process that reads the anchor records (the read
    # model's, an auditor's) does not load eth-account, whose import costs ~0.5 s.
    from eth_account.signers.local import LocalAccount

# A 32-byte calldata transfer costs 21,000 + 10 x 4 x 32 = 22,280 under Prague's floor rule.
GAS_LIMIT = 30_000


log = logging.getLogger("credledger.anchoring")

# A number long enough to be an integer beyond 64 bits: 20 digits after a byte that may
# precede a number (the leaves' hex strings have runs of digits too, after a quote or a
# letter). Found by mapping every byte to its class (digit, "may precede a number", other):
# a regular expression took 4 ms over a batch's record of a thousand leaves and documents,
# four times the parse, and the audit reads a record for every batch.
_NUMBER_CLASSES = bytes(
    ord("0") if byte in b"0123456789" else ord(":") if byte in b"[:, \t\n\r-" else ord("x")
    for byte in range(256)
)
_LONG_NUMBER = b":" + b"0" * 20


def _has_long_number(text: str) -> bool:
    raw = text.encode("utf-8")
    return raw[:20].isdigit() or _LONG_NUMBER in raw.translate(_NUMBER_CLASSES)


def _json_plain(value: Any) -> bool:
    """Whether ``value`` is JSON that reads back as itself (no floats, tuples or other keys)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _json_plain(item) for key, item in value.items())
    if kind is list:
        return all(_json_plain(item) for item in value)
    return kind is str or kind is int or kind is bool or value is None


@dataclass(frozen=True)
class Attempt:
    """One signed transaction for a batch; replacements share the nonce."""

    tx_hash: str
    raw: str
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    sent_at: float


@dataclass(frozen=True)
class AnchorRecord:
    """A batch's anchoring, as stored: intent, attempts and, once mined, where."""

    checkpoint_size: int
    checkpoint_note: str
    leaves: list[str]
    root: str
    chain_id: int
    nonce: int
    attempts: list[Attempt] = field(default_factory=list)
    state: str = "pending"  # pending -> confirmed -> recorded; a reorg sends it back
    tx_hash: str | None = None
    block_number: int | None = None
    block_hash: str | None = None
    block_time: int | None = None
    sender: str = ""
    # What the leaves after the checkpoint's are: one entry per credential document.
    documents: list[dict[str, Any]] = field(default_factory=list)
    public_url: str = ""

    def to_json(self) -> str:
        # Field by field: ``asdict`` would deep-copy every document of a large batch first.
        fields_ = {f.name: getattr(self, f.name) for f in fields(self)}
        fields_["attempts"] = [asdict(a) for a in self.attempts]
        # A batch's record (a thousand leaves and documents) is written at each step of its
        # anchoring: by orjson, several times faster, unless an integer needs more than 64 bits.
        try:
            return orjson.dumps(fields_, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except orjson.JSONEncodeError:
            return json.dumps(fields_, sort_keys=True)

    def mined(self) -> dict[str, Any]:
        """What anyone may know of a mined anchor: the batch, its tree and where it is."""
        return {
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_note": self.checkpoint_note,
            "leaves": self.leaves,
            "root": self.root,
            "chain_id": self.chain_id,
            "tx_hash": self.tx_hash,
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "block_time": self.block_time,
            "sender": self.sender,
            "documents": self.documents,
            "public_url": self.public_url,
        }

    def reads_back_as_itself(self) -> bool:
        """Whether :meth:`from_json` of :meth:`to_json` gives this very value: its documents
        and leaves hold only what JSON reads back with the same types (text, integers,
        booleans, null, lists, objects with text keys), its numbers are integers."""
        scalars = (self.checkpoint_size, self.chain_id, self.nonce)
        optional = (self.block_number, self.block_time)
        if any(type(n) is not int for n in scalars) or any(
            n is not None and type(n) is not int for n in optional
        ):
            return False
        if type(self.leaves) is not list or any(type(leaf) is not str for leaf in self.leaves):
            return False
        if type(self.attempts) is not list or any(
            type(a) is not Attempt or type(a.sent_at) not in (int, float) for a in self.attempts
        ):
            return False
        return type(self.documents) is list and _json_plain(self.documents)

    @classmethod
    def from_json(cls, text: str) -> AnchorRecord:
        # orjson would read an integer beyond 64 bits as a float: such text, the slow way.
        data: dict[str, Any] = json.loads(text) if _has_long_number(text) else orjson.loads(text)
        data["attempts"] = [Attempt(**a) for a in data["attempts"]]
        return cls(**data)


@dataclass(frozen=True)
class RecordedBlock:
    """Where a recorded anchor was mined."""

    checkpoint_size: int
    block_number: int
    block_hash: str


@dataclass(frozen=True)
class AnchorTally:
    """How many batches are in flight, by state, and the largest anchored ones."""

    by_state: dict[str, int]  # pending (sent, not mined deep enough) and confirmed
    anchored_size: int  # the largest checkpoint size confirmed on chain (0: none yet)
    recorded_size: int  # the largest whose anchor is recorded as an event (0: none yet)


class AnchorStore(ABC):
    """Where anchor records live, beside the log; one implementation per backend."""

    @abstractmethod
    def save(self, record: AnchorRecord) -> None:
        """Insert or replace the record of ``record.checkpoint_size``."""

    @abstractmethod
    def get(self, checkpoint_size: int) -> AnchorRecord | None: ...

    @abstractmethod
    def unfinished(self) -> list[AnchorRecord]:
        """Records not yet recorded, oldest first."""

    @abstractmethod
    def latest(self) -> AnchorRecord | None:
        """The record of the largest batch."""

    @abstractmethod
    def latest_size(self) -> int:
        """The checkpoint size of the largest batch (0: none)."""

    @abstractmethod
    def recorded_since(self, block_number: int) -> list[RecordedBlock]:
        """Where the recorded anchors mined at or after ``block_number`` are, oldest first
        (without their leaves and documents: the reorganisation watch reads them often)."""

    @abstractmethod
    def covering(self, index: int) -> AnchorRecord | None:
        """The first recorded anchor whose batch includes log entry ``index``."""

    @abstractmethod
    def tally(self) -> AnchorTally:
        """Batches in flight by state (pending, confirmed), and the largest anchored sizes."""

    @abstractmethod
    def set_blocked(self, reason: str | None) -> None:
        """Record why the chain refuses the anchoring now (None: it no longer does)."""

    @abstractmethod
    def blocked(self) -> tuple[str, str] | None:
        """(reason, since when) the chain refuses the anchoring, for every process to show."""

    @abstractmethod
    def set_hashing_backlog(self, entries: int) -> None:
        """Record how many log entries wait for the hashing of their documents."""

    @abstractmethod
    def hashing_backlog(self) -> int:
        """Log entries waiting for the hashing of their documents, as last recorded."""


class Anchorer:
    """Moves batches from checkpoint to confirmed anchor, one step at a time."""

    def __init__(
        self,
        chain: Chain,
        account: LocalAccount,
        store: AnchorStore,
        confirmations: int = 1,
        replace_after: float = 30.0,
        watch_blocks: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.account = account
        self.store = store
        self.confirmations = confirmations
        # From the store: a restarted anchorer clears a block recorded before it started.
        found = store.blocked()
        self._blocked: str | None = found[0] if found else None
        self.replace_after = replace_after
        self.watch_blocks = watch_blocks
        self._clock = clock
        self._chain_id: int | None = None
        self._checked_tip: tuple[int, str] | None = None
        # Anchors (checkpoint size to block hash) found on the chain at that check.
        self._on_chain: dict[int, str] = {}

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.chain.chain_id()
        return self._chain_id

    def in_flight(self) -> AnchorRecord | None:
        """The batch being anchored, if any: at most one at a time."""
        unfinished = [r for r in self.store.unfinished() if r.state == "pending"]
        return unfinished[0] if unfinished else None

    def open(
        self,
        checkpoint_size: int,
        note: str,
        leaves: list[bytes],
        documents: list[dict[str, Any]] | None = None,
        public_url: str = "",
    ) -> AnchorRecord:
        """Store the intent for a batch (signed transaction and nonce), then broadcast it.

        ``leaves`` are the checkpoint's leaf and then one per entry of ``documents``.
        """
        existing = self.store.get(checkpoint_size)
        if existing is not None:
            return existing
        documents = documents or []
        if len(leaves) != len(documents) + 1:
            raise ValueError("an anchor tree has the checkpoint's leaf and one per document")
        tree = AnchorTree.build(leaves)
        latest = self.store.latest()
        nonce = self.chain.nonce(self.account.address)
        if latest is not None and latest.sender == self.account.address and latest.nonce >= nonce:
            nonce = latest.nonce + 1
        record = AnchorRecord(
            checkpoint_size=checkpoint_size,
            checkpoint_note=note,
            leaves=[leaf.hex() for leaf in leaves],
            root=tree.root.hex(),
            chain_id=self.chain_id(),
            nonce=nonce,
            sender=self.account.address,
            documents=documents,
            public_url=public_url,
        )
        record = self._sign(record, self.chain.fees())
        self.store.save(record)
        self._broadcast(record.attempts[-1])
        return record

    def _sign(self, record: AnchorRecord, fees: Fees) -> AnchorRecord:
        transaction: dict[str, Any] = {
            "type": 2,
            "chainId": record.chain_id,
            "nonce": record.nonce,
            "to": BURN_ADDRESS,
            "value": 0,
            "data": bytes.fromhex(record.root),
            "gas": GAS_LIMIT,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
        signed = self.account.sign_transaction(transaction)
        attempt = Attempt(
            tx_hash="0x" + bytes(signed.hash).hex(),
            raw=bytes(signed.raw_transaction).hex(),
            max_fee_per_gas=fees.max_fee_per_gas,
            max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
            sent_at=self._clock(),
        )
        return replace(record, attempts=[*record.attempts, attempt])

    def _broadcast(self, attempt: Attempt) -> None:
        # A refusal for the nonce (once another attempt is mined) is no error: the next step
        # looks at the chain and sees why. One the account cannot get past by waiting
        # (insufficient funds, say) blocks every anchor: it is logged and recorded for
        # `/health` and `status` until a transaction is accepted again.
        try:
            self.chain.send(bytes.fromhex(attempt.raw))
        except ChainRejected as exc:
            reason = str(exc)
            if "nonce" in reason.lower():
                return
            blocked = f"{reason} (account {self.account.address})"
            if self._blocked != blocked:
                log.error("anchoring blocked: the chain refuses the transaction: %s", blocked)
                self.store.set_blocked(blocked)
                self._blocked = blocked
            return
        if self._blocked is not None:
            log.warning("anchoring unblocked: the chain accepted a transaction again")
            self.store.set_blocked(None)
            self._blocked = None

    def advance(self, record: AnchorRecord) -> AnchorRecord:
        """One step for a pending batch; returns the record as now stored."""
        mined = [i for a in record.attempts if (i := self.chain.inclusion(a.tx_hash))]
        if mined:
            inclusion = mined[0]
            depth = confirmations_of(inclusion.block_number, self.chain.head())
            if depth < self.confirmations:
                # A development node would otherwise wait for the next anchor to make a block;
                # where it made them, the depth is looked at again now, not a step later.
                if not self.chain.mine(self.confirmations - depth):
                    return record
                depth = confirmations_of(inclusion.block_number, self.chain.head())
                if depth < self.confirmations:
                    return record
            block = self.chain.block(inclusion.block_number)
            if block is None or block[0] != inclusion.block_hash:
                return record  # re-organised meanwhile: look again next step
            confirmed = replace(
                record,
                state="confirmed",
                tx_hash=inclusion.tx_hash,
                block_number=inclusion.block_number,
                block_hash=inclusion.block_hash,
                block_time=block[1],
            )
            self.store.save(confirmed)
            return confirmed
        if record.sender and record.sender != self.account.address:
            # Signed with a key retired since (a re-organisation after a rotation): only the
            # current key may send, with its own nonce.
            return self._renew(record)
        if self.chain.confirmed_nonce(self.account.address) > record.nonce:
            # Our nonce is used. Look once more, as one of ours may have been mined just now;
            # if not, a transaction that is not ours took it: start over with a new nonce.
            if any(self.chain.inclusion(a.tx_hash) for a in record.attempts):
                return record
            return self._renew(record)
        latest = record.attempts[-1]
        if not any(self.chain.is_known(a.tx_hash) for a in record.attempts):
            self._broadcast(latest)
            return record
        if self._clock() - latest.sent_at >= self.replace_after:
            fees = self.chain.fees()
            bumped = Fees(
                max(fees.max_fee_per_gas, latest.max_fee_per_gas * 9 // 8 + 1),
                max(fees.max_priority_fee_per_gas, latest.max_priority_fee_per_gas * 9 // 8 + 1),
            )
            replaced = self._sign(record, bumped)
            self.store.save(replaced)
            self._broadcast(replaced.attempts[-1])
            return replaced
        return record

    def _renew(self, record: AnchorRecord) -> AnchorRecord:
        renewed = replace(
            record,
            nonce=self.chain.nonce(self.account.address),
            attempts=[],
            sender=self.account.address,
        )
        renewed = self._sign(renewed, self.chain.fees())
        self.store.save(renewed)
        self._broadcast(renewed.attempts[-1])
        return renewed

    def mark_recorded(self, record: AnchorRecord) -> None:
        self.store.save(replace(record, state="recorded"))

    def orphaned(self) -> list[AnchorRecord]:
        """Recorded anchors whose block is no longer on the chain; each goes back to pending
        (its transaction may be mined again, or is re-broadcast).

        A block's hash commits to all its ancestors: while the block last checked as the tip
        is still on the chain, every anchor found on the chain at that check, at or below it,
        still is; only the others are read again (under load the tip moves with every
        anchor). An anchor recorded since that check is always read, even when the tip is the
        same block again: a node restarted from older state is back at the checked tip
        without the blocks mined after it."""
        head = self.chain.head()
        tip = self.chain.block(head)
        trusted: dict[int, str] = {}
        if tip is not None and self._checked_tip is not None and self._checked_tip[0] <= head:
            height, block_hash = self._checked_tip
            still = tip if height == head else self.chain.block(height)
            if still is not None and still[0] == block_hash:
                trusted = self._on_chain
        found, on_chain = [], {}
        for mined in self.store.recorded_since(max(0, head - self.watch_blocks)):
            if trusted.get(mined.checkpoint_size) != mined.block_hash:
                block = self.chain.block(mined.block_number)
                if block is None or block[0] != mined.block_hash:
                    record = self.store.get(mined.checkpoint_size)
                    assert record is not None
                    self.store.save(replace(record, state="pending"))
                    found.append(record)
                    continue
            if mined.block_number <= head:
                on_chain[mined.checkpoint_size] = mined.block_hash
        self._checked_tip = (head, tip[0]) if tip is not None else None
        self._on_chain = on_chain if tip is not None else {}
        return found
