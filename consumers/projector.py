"""The read-model projector: applies each stored event to the read model exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from consumers.follower import NotificationFollower, StoredEvent
from ledger.domain import BatchAnchor, CommandReceipt, Credential, Issuer
from ledger.read_model import PositionMoved, ReadModel, ReadModelWriter

Handler = Callable[[ReadModelWriter, Any, str, int], None]


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
    Credential.Issued: _credential_version("issued"),
    Credential.Amended: _credential_version("amended"),
    Credential.Revoked: lambda w, e, at, pos: w.credential_revoked(
        str(e.originator_id), at, e.command["reason"]
    ),
    Credential.PersonalDataErased: lambda w, e, at, pos: w.personal_data_erased(
        str(e.originator_id), at
    ),
    CommandReceipt.Recorded: lambda w, e, at, pos: None,
    # Anchors are answered from the log's own store, not the read model.
    BatchAnchor.Anchored: lambda w, e, at, pos: None,
    BatchAnchor.Reanchored: lambda w, e, at, pos: None,
    BatchAnchor.Orphaned: lambda w, e, at, pos: None,
}


def _apply(writer: ReadModelWriter, stored: StoredEvent) -> None:
    event = stored.event
    _HANDLERS[type(event)](writer, event, event.timestamp.isoformat(), stored.position)


class ReadModelProjector:
    """Keeps a read model up to date with the event store, one transaction per batch."""

    def __init__(self, follower: NotificationFollower, read_model: ReadModel) -> None:
        self._follower = follower
        self._read_model = read_model
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Apply every event not yet applied; returns the position reached."""
        with self._lock:
            position = self._read_model.position()
            while batch := self._follower.after(position):
                try:
                    with self._read_model.transaction(position, batch[-1].position) as writer:
                        for stored in batch:
                            _apply(writer, stored)
                except PositionMoved:
                    # Another projector applied this batch; continue from where it got to.
                    position = self._read_model.position()
                    continue
                position = batch[-1].position
            return position

    def run(self, stop: threading.Event, wake: threading.Event, interval: float = 0.5) -> None:
        """Catch up whenever woken, or every ``interval`` seconds, until ``stop`` is set."""
        while not stop.is_set():
            self.catch_up()
            wake.wait(interval)
            wake.clear()
