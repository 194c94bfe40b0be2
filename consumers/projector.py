"""The read-model projector: applies each stored event to the read model exactly once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any, Protocol

from consumers.follower import Follower, StoredEvent
from ledger.domain.aggregates import (
    AnchoringKeys,
    BatchAnchor,
    CommandReceipt,
    Credential,
    Issuer,
    Pathway,
    Recognition,
)
from ledger.persistence.read_model import PositionMoved, ReadModel, ReadModelWriter

Handler = Callable[[ReadModelWriter, Any, str, int], None]
log = logging.getLogger("credledger.read_model")


class Wake(Protocol):
    """What a projector waits on between catch-ups: a :class:`threading.Event`, or anything
    that waits and clears as one does."""

    def wait(self, timeout: float | None = None) -> bool: ...
    def clear(self) -> None: ...


def _credential_version(event_name: str) -> Handler:
    def handle(writer: ReadModelWriter, event: Any, at: str, position: int) -> None:
        credential_id = str(event.originator_id)
        version = 1 if event_name == "issued" else writer.current_version(credential_id) + 1
        writer.credential_version(
            credential_id,
            event.command["issuer_id"],
            version,
            event_name,
            event.command["content"],
            at,
            position,
        )

    return handle


_HANDLERS: dict[type[Any], Handler] = {
    Issuer.Registered: lambda w, e, at, pos: w.issuer_registered(str(e.originator_id), at, pos, e),
    Issuer.Suspended: lambda w, e, at, pos: w.issuer_status(
        str(e.originator_id), at, pos, "suspended", e.reason
    ),
    Issuer.Reinstated: lambda w, e, at, pos: w.issuer_status(
        str(e.originator_id), at, pos, "active", e.reason
    ),
    Issuer.KeyRotated: lambda w, e, at, pos: w.issuer_key_rotated(
        str(e.originator_id), at, pos, e.new_address
    ),
    Issuer.SealCertificateRegistered: lambda w, e, at, pos: w.seal_certificate_registered(
        str(e.originator_id), at, pos, e.command
    ),
    Issuer.SealCertificateRevoked: lambda w, e, at, pos: w.seal_certificate_revoked(
        str(e.originator_id), at, pos, e.command
    ),
    Credential.SealRecorded: lambda w, e, at, pos: w.seal_recorded(
        str(e.originator_id), at, pos, e.command
    ),
    Issuer.WalletKeyAdopted: lambda w, e, at, pos: w.wallet_key_adopted(
        str(e.originator_id), at, pos, e.kid, e.jwk
    ),
    Credential.WalletDelivered: lambda w, e, at, pos: w.wallet_delivered(
        str(e.originator_id), at, pos, e.command, e.jwt_sha256, e.kid, e.status_index
    ),
    Credential.Issued: _credential_version("issued"),
    Credential.Amended: _credential_version("amended"),
    Credential.Revoked: lambda w, e, at, pos: w.credential_revoked(
        str(e.originator_id), at, e.command["reason"]
    ),
    Credential.PersonalDataErased: lambda w, e, at, pos: w.personal_data_erased(
        str(e.originator_id), at
    ),
    Pathway.Published: lambda w, e, at, pos: w.pathway_version(
        str(e.originator_id), 1, at, pos, e.command
    ),
    Pathway.Revised: lambda w, e, at, pos: w.pathway_version(
        str(e.originator_id), int(e.command["version"]) + 1, at, pos, e.command
    ),
    Recognition.Recorded: lambda w, e, at, pos: w.recognition_recorded(
        str(e.originator_id), at, pos, e.command
    ),
    CommandReceipt.Recorded: lambda w, e, at, pos: None,
    # Transactions are answered from the log's own store; the read model keeps where each
    # document sits in its batch's anchor tree.
    BatchAnchor.Anchored: lambda w, e, at, pos: w.documents_anchored(e.checkpoint_size, e),
    BatchAnchor.AnchoredInParts: lambda w, e, at, pos: w.documents_anchored(e.checkpoint_size, e),
    BatchAnchor.Placed: lambda w, e, at, pos: w.documents_anchored(e.checkpoint_size, e),
    BatchAnchor.Reanchored: lambda w, e, at, pos: None,
    BatchAnchor.Orphaned: lambda w, e, at, pos: None,
    AnchoringKeys.Adopted: lambda w, e, at, pos: w.anchoring_key_adopted(e.address, e.at),
    AnchoringKeys.Rotated: lambda w, e, at, pos: w.anchoring_key_rotated(
        e.retired, e.adopted, e.at
    ),
}


_BY_NAME: dict[str, Handler] = {cls.__qualname__: handler for cls, handler in _HANDLERS.items()}


def _as_event(envelope: dict[str, Any]) -> SimpleNamespace:
    """An envelope with the attributes the handlers read from a domain event."""
    content = envelope["content"]
    # What the ledger recorded beside a signed command reads as the event's own attributes.
    return SimpleNamespace(
        **{k: v for k, v in content.items() if k not in ("command",)},
        **content.get("wallet_key", {}),
        **content.get("delivery", {}),
        originator_id=envelope["aggregate_id"],
        command=content,
    )


def replay_envelopes(read_model: ReadModel, envelopes: Iterable[dict[str, Any]]) -> int:
    """Build ``read_model`` from log envelopes alone (an auditor's replay); returns the
    position reached. Gives the same rows as the projector gives from the event store."""
    position = read_model.position()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal position
        if not batch:
            return
        with read_model.transaction(position, int(batch[-1]["position"])) as writer:
            for envelope in batch:
                _BY_NAME[envelope["type"]](
                    writer, _as_event(envelope), envelope["time"], int(envelope["position"])
                )
        position = int(batch[-1]["position"])
        batch.clear()

    for envelope in envelopes:
        batch.append(envelope)
        if len(batch) >= 1000:
            flush()
    flush()
    return position


def _apply(writer: ReadModelWriter, stored: StoredEvent) -> None:
    event = stored.event
    _HANDLERS[type(event)](writer, event, event.timestamp.isoformat(), stored.position)


class ReadModelProjector:
    """Keeps a read model up to date with the event store, one transaction per batch."""

    def __init__(self, follower: Follower, read_model: ReadModel) -> None:
        self._follower = follower
        self._read_model = read_model
        self._lock = threading.Lock()
        # Where this projector's last transaction left the model: read from it once, and again
        # only when a transaction finds that another projector moved it. Each read is one more
        # statement on a single write's path to being readable.
        self._position: int | None = None

    def catch_up(self, progress: Callable[[int], object] | None = None) -> int:
        """Apply every event not yet applied; returns the position reached. ``progress`` is
        told the position after each batch."""
        with self._lock:
            position = self._read_model.position() if self._position is None else self._position
            while batch := self._follower.after(position):
                try:
                    with self._read_model.transaction(position, batch[-1].position) as writer:
                        for stored in batch:
                            _apply(writer, stored)
                except PositionMoved:
                    # Another projector applied this batch; continue from where it got to.
                    position = self._position = self._read_model.position()
                    continue
                position = self._position = batch[-1].position
                if progress is not None:
                    progress(position)
                if self._follower.exhausted(batch):
                    break
            self._follower.commit_through(position)
            return position

    def run(
        self,
        stop: threading.Event,
        wake: Wake,
        interval: float = 0.5,
        reached: Callable[[int], object] | None = None,
    ) -> None:
        """Catch up whenever woken, or every ``interval`` seconds, until ``stop`` is set.
        ``reached`` is told the position after each batch, and where a catch-up ends if that
        was not told (when nothing was new: a listener that missed one hears it at the next
        interval). Once each: telling a single write's position twice woke the process of the
        request waiting for it a second time, while it answered."""
        told: list[int] = []

        def progress(at: int) -> None:
            told.append(at)
            if reached is not None:
                reached(at)

        while not stop.is_set():
            try:
                told.clear()
                position = self.catch_up(progress=progress)
                if reached is not None and told[-1:] != [position]:
                    reached(position)
            except Exception:
                # A database or broker outage: what was applied stays applied; retry.
                log.exception("the read-model projector failed; retrying")
                stop.wait(1.0)
            wake.wait(interval)
            wake.clear()
