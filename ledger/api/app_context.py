"""What every route shares: the ledger, the read model, settings and operator auth."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Request

from anchors.anchoring import AnchorStore
from anchors.chain import Chain
from anchors.log import TransparencyLog
from anchors.tlog_tiles import FullTiles
from ledger.api.intake import IntakeGate, consumers_backlog
from ledger.api.read_your_writes import PositionWatch
from ledger.application.service import Ledger, last_stored_position
from ledger.domain.errors import AdminAuthenticationError, Unavailable
from ledger.formats.sd_jwt.issuance import WalletIssuer, WalletPolicy
from ledger.operations.ledger_state import ChainProbe, LedgerState
from ledger.persistence.read_model import PositionNotices, ReadModel
from ledger.persistence.wallet_sessions import WalletSessions
from ledger.settings import Settings
from ledger.stacking.verified import VerifiedComponents


@dataclass
class DeferredWait:
    """Where a request that waits in the event loop (``ApiContext.reached``) is told the
    position its write's thread would otherwise have waited for."""

    target: int | None = None


_deferred_wait: ContextVar[DeferredWait | None] = ContextVar(
    "credledger_deferred_wait", default=None
)


# As many concurrent writes as requests Starlette runs in threads by default: they overlap
# where the store and the signature checks let go of the interpreter, and wallet deliveries
# that arrive together are committed together (group commit).
WRITER_THREADS = 40


@dataclass
class ApiContext:
    """What the routes use: the ledger for commands, the read model for answers."""

    ledger: Ledger
    read_model: ReadModel
    log: TransparencyLog
    anchors: AnchorStore
    wallet_sessions: WalletSessions
    chain: Chain | None
    confirmations: int
    log_origin: str
    log_verifier_key: str
    witnesses: frozenset[str]
    witness_quorum: int
    settings: Settings
    admin_token: str
    chain_info: dict[str, object] = field(default_factory=dict)
    tlog_witnesses: tuple[str, ...] = ()  # C2SP witnesses' cosignature/v1 verifier keys
    # Called after a write; in process it brings the read model up to the write itself and
    # returns the position reached (None: other processes follow, so the request waits).
    on_write: Callable[[], int | None] = field(default=lambda: None)
    consistency_wait: float = 5.0
    _read_model_watch: PositionWatch = field(init=False)
    wallet: WalletIssuer = field(init=False)
    full_tiles: FullTiles = field(default_factory=FullTiles)  # /tlog/'s immutable tiles
    # Stack components verified a moment ago (re-checked for what can change on each use).
    verified_components: VerifiedComponents = field(default_factory=VerifiedComponents)
    # Readiness: the consumers of this deployment that are not running (none in a worker,
    # whose consumers run in another process: their lag shows in the read model's).
    consumers_down: Callable[[], list[str]] = field(default=lambda: [])
    relay_position: Callable[[], int] | None = None  # how far the Kafka relay published
    # The positions another process's projector announces (else the read model's own notices).
    positions: PositionNotices | None = None
    state: LedgerState = field(init=False)  # what /metrics reads from the stores when scraped
    # The threads the direct write routes run their blocking writes on.
    writers: ThreadPoolExecutor = field(init=False)
    # Pauses issuer commands while the consumers trail the store too far.
    intake: IntakeGate = field(init=False)
    # The furthest position a write's own catch-up brought the read model to: the writes
    # committed together in one group are all applied by the first of them to catch up.
    _caught_up: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.writers = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="api-write")
        self._read_model_watch = PositionWatch(
            self.read_model.position, notices=self.positions or self.read_model.notices()
        )
        settings = self.settings
        self.intake = IntakeGate(
            settings.intake_max_backlog_events,
            lambda: consumers_backlog(self.ledger, self.log, self.anchors, self.read_model),
            hold=settings.intake_hold_seconds,
        )
        address = self.chain_info.get("anchoring_address")
        self.state = LedgerState(
            store_position=lambda: self.ledger.recorder.max_notification_id() or 0,
            read_model=self.read_model,
            log=self.log,
            anchors=self.anchors,
            batch_age_seconds=settings.batch_age_seconds,
            stall_seconds=settings.anchoring_stall_seconds(),
            witnesses=self.all_witnesses,
            witness_quorum=self.witness_quorum,
            chain=(
                ChainProbe(self.chain, str(address)) if self.chain is not None and address else None
            ),
            relay_position=self.relay_position,
        )
        # One issuer for every request: concurrent credential requests are delivered together.
        self.wallet = WalletIssuer(
            self.ledger,
            self.wallet_sessions,
            settings.public_url_value(),
            WalletPolicy(
                offer=timedelta(seconds=settings.wallet_offer_seconds),
                token=timedelta(seconds=settings.wallet_token_seconds),
                nonce=timedelta(seconds=settings.wallet_nonce_seconds),
                pin_tries=settings.wallet_pin_tries,
            ),
        )

    @property
    def all_witnesses(self) -> frozenset[str]:
        """Every trusted witness key of either kind: BLS and C2SP cosignature/v1."""
        return self.witnesses | frozenset(self.tlog_witnesses)

    def status_list_key(self) -> Ed25519PrivateKey:
        """The key that signs status lists: derived from the log key, never the same key."""
        seed = hashlib.sha256(b"credledger/v1/status-list-key" + self.settings.log_key_seed())
        return Ed25519PrivateKey.from_private_bytes(seed.digest())

    def check_admin(self, request: Request) -> None:
        supplied = request.headers.get("authorization", "")
        expected = f"Bearer {self.admin_token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise AdminAuthenticationError("this operation needs the operator's bearer token")

    def anchor_state(self, log_position: int) -> dict[str, object]:
        """Whether the event at ``log_position`` is anchored yet, and where."""
        index = self.log.store.index_of(log_position)
        anchor = self.anchors.covering(index) if index is not None else None
        if anchor is None:
            pending: dict[str, object] = {
                "state": "pending",
                "detail": "in the log's next batch; anchoring is pending",
            }
            blocked = self.anchors.blocked()
            if blocked is not None:
                pending["detail"] = f"anchoring: blocked since {blocked[1]} — {blocked[0]}"
            return pending
        return {
            "state": "anchored",
            "checkpoint_size": anchor.checkpoint_size,
            "chain_id": anchor.chain_id,
            "tx_hash": anchor.tx_hash,
            "block_number": anchor.block_number,
        }

    def anchoring_health(self) -> dict[str, str]:
        """Whether anchoring goes on, or why the chain refuses it."""
        blocked = self.anchors.blocked()
        if blocked is None:
            return {"state": "ok"}
        return {
            "state": "blocked",
            "since": blocked[1],
            "detail": f"anchoring: blocked — {blocked[0]}",
        }

    def hear_positions_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let the serving event loop hear the read model's announcements itself, where they
        come down a pipe (no listener thread between a write's answer and its loop)."""
        self._read_model_watch.watch_on(loop)

    def close(self) -> None:
        """Release what the context holds of its own (the read model's listener, the write
        threads once their requests are answered)."""
        self._read_model_watch.close()
        self.writers.shutdown(wait=True)

    def written(self) -> None:
        """Wait until the read model reflects what was just written (read-your-writes)."""
        target = last_stored_position.get()
        if target is None:
            # Nothing stored by this request (a replayed command's first answer): wait for
            # whatever the store holds, which includes the first write.
            target = self.ledger.recorder.max_notification_id() or 0
        if target <= self._caught_up:
            return  # another write's catch-up applied this one
        reached = self.on_write()
        if reached is not None:
            self._caught_up = max(self._caught_up, reached)
            if reached >= target:
                return  # caught up by this request: no reading of the position to wait for
        deferred = _deferred_wait.get()
        if deferred is not None:
            deferred.target = target  # the request's task waits (``reached``)
            return
        if not self._read_model_watch.wait(target, self.consistency_wait):
            raise _not_caught_up()

    def deferring_waits(self) -> DeferredWait:
        """Have ``written`` in this context (and copies of it made from now on) leave the
        wait to the event loop: returns where it leaves the position."""
        deferred = DeferredWait()
        _deferred_wait.set(deferred)
        return deferred

    async def reached(self, deferred: DeferredWait) -> None:
        """Wait, in the event loop, until the read model shows what ``written`` left."""
        if deferred.target is None:
            return
        if not await self._read_model_watch.reached(deferred.target, self.consistency_wait):
            raise _not_caught_up()


def _not_caught_up() -> Unavailable:
    return Unavailable(
        "the command was stored, but the read model has not caught up yet; "
        "query its status again shortly"
    )


def request_begins() -> None:
    """Start a request's own record of what it stored: nothing yet.

    Each request's context is a copy of the serving process's, where that process's own
    writes (at start-up) left a position; a request that stores nothing (a repeated command)
    would take it for its own write's and answer before the read model shows the first one.
    """
    last_stored_position.set(None)


async def context(request: Request) -> ApiContext:
    """The shared context (async: a sync dependency would cost a thread hop per request).
    Resolved in the request's own task, it also begins the request's record of writes."""
    request_begins()
    ctx: ApiContext = request.app.state.context
    return ctx
