"""The log entry of a stored event: its canonical envelope.

One entry per stored event, in the store's global order: the RFC 8785 bytes of the event's
position, type, aggregate id and version, time, issuer, content and issuer signature. Contents
carry only commitments to learners, never their data, so entries stay valid after an erasure.
"""

from __future__ import annotations

from typing import Any

from ledger.domain.aggregates import (
    AnchoringKeys,
    BatchAnchor,
    CommandReceipt,
    Credential,
    Issuer,
    Pathway,
    Recognition,
)
from ledger.domain.canonical import canonical_bytes, canonical_form
from ledger.domain.json_text import ConfinedObject

ENVELOPE_VERSION = 1


def _signed(event: Any) -> tuple[str, dict[str, Any], str | None]:
    return str(event.command["issuer_id"]), dict(event.command), str(event.signature)


def _content(event: Any) -> tuple[str | None, dict[str, Any], str | None]:
    """(issuer id, content, issuer signature) of an event, by type."""
    if isinstance(event, Credential.Issued | Credential.Amended):
        # Most of the log: commands their models confine to text, written without the walk
        # that would prove it again (the same bytes).
        command = event.command
        return str(command["issuer_id"]), ConfinedObject(command), str(event.signature)
    if isinstance(
        event,
        Credential.Revoked
        | Credential.PersonalDataErased
        | Credential.SealRecorded
        | Issuer.SealCertificateRegistered
        | Issuer.SealCertificateRevoked
        | Pathway.Published
        | Pathway.Revised
        | Recognition.Recorded,
    ):
        return _signed(event)
    if isinstance(event, Issuer.KeyRotated):
        issuer_id, command, signature = _signed(event)
        return issuer_id, {**command, "new_key_signature": event.new_key_signature}, signature
    if isinstance(event, Issuer.WalletKeyAdopted):
        issuer_id, command, signature = _signed(event)
        return issuer_id, {**command, "wallet_key": {"kid": event.kid, "jwk": event.jwk}}, signature
    if isinstance(event, Credential.WalletDelivered):
        issuer_id, command, signature = _signed(event)
        delivery = {
            "jwt_sha256": event.jwt_sha256,
            "kid": event.kid,
            "status_index": event.status_index,
        }
        return issuer_id, {**command, "delivery": delivery}, signature
    if isinstance(event, Issuer.Registered):
        registered: dict[str, Any] = {
            "legal_name": event.legal_name,
            "country": event.country,
            "region": event.region,
            "quality_assurance": event.quality_assurance,
            "address": event.address,
        }
        return str(event.originator_id), registered, None
    if isinstance(event, Issuer.Suspended | Issuer.Reinstated):
        return str(event.originator_id), {"reason": event.reason}, None
    if isinstance(
        event,
        BatchAnchor.Anchored
        | BatchAnchor.Placed
        | BatchAnchor.Reanchored
        | BatchAnchor.Orphaned
        | AnchoringKeys.Adopted
        | AnchoringKeys.Rotated,
    ):
        fields = {
            k: v
            for k, v in event.__dict__.items()
            if k not in ("originator_id", "originator_version", "timestamp", "originator_topic")
        }
        return None, fields, None
    if isinstance(event, CommandReceipt.Recorded):
        content: dict[str, Any] = {
            "command_id": event.command_id,
            "command_digest": event.command_digest,
            "result": event.result,
        }
        return str(event.issuer_id), content, None
    raise TypeError(f"no envelope for {type(event).__qualname__}")


def envelope(position: int, event: Any) -> dict[str, Any]:
    """The envelope of ``event`` stored at ``position``."""
    issuer_id, content, signature = _content(event)
    return {
        "v": ENVELOPE_VERSION,
        "position": position,
        "type": type(event).__qualname__,
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        "time": event.timestamp.isoformat(),
        "issuer_id": issuer_id,
        "content": content,
        "signature": signature,
    }


def entry(position: int, event: Any) -> bytes:
    """The log entry: the envelope's canonical bytes."""
    return canonical_bytes(envelope(position, event))


class StoredEnvelopes:
    """The event store's events as log entries, read in order for an audit."""

    def __init__(self, application: Any, start_index: int = 0, after_position: int = 0) -> None:
        self._recorder = application.recorder
        self._mapper = application.mapper
        self._next_index = start_index
        self._after = after_position

    def __call__(self, index: int, count: int) -> list[tuple[int, bytes]]:
        """(position, entry) of the stored events ``index`` onwards; read in order only."""
        return [(position, entry) for position, entry, _ in self.decoded(index, count)]

    def decoded(self, index: int, count: int) -> list[tuple[int, bytes, dict[str, Any] | None]]:
        """(position, entry, envelope) of the stored events ``index`` onwards, in order only:
        the envelope is the entry's exact value (None where the entry must be parsed for it,
        as for one with a number that is not an integer)."""
        if index != self._next_index:
            raise ValueError("stored events are read in order")
        notifications = self._recorder.select_notifications(
            start=self._after, limit=count, inclusive_of_start=False
        )
        self._next_index += len(notifications)
        if notifications:
            self._after = notifications[-1].id
        return [(n.id, *self._entry(n)) for n in notifications]

    def _entry(self, notification: Any) -> tuple[bytes, dict[str, Any] | None]:
        try:
            value = envelope(notification.id, self._mapper.to_domain_event(notification))
            entry, exact = canonical_form(value)
        except Exception:
            # A stored event that no longer decodes is itself the finding.
            return b"<the stored event does not decode>", None
        return entry, value if exact else None
