"""The Kafka transport's message: one stored event, linked to the one before it.

A message carries the stored event exactly as the store holds it (so consumers decode it with
the application's own mapper) with its position and the position of the event published just
before it. That link lets a consumer take events strictly in the store's order: a message
whose predecessor it has not seen is a gap or a reordering, and it waits; a message it has
already applied is a duplicate, and it drops it. Store positions may have holes (PostgreSQL
skips ids of rolled-back transactions); the links do not.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent


@dataclass(frozen=True)
class EventMessage:
    position: int
    previous: int
    stored: StoredEvent

    def encode(self) -> bytes:
        return json.dumps(
            {
                "position": self.position,
                "previous": self.previous,
                "originator_id": str(self.stored.originator_id),
                "originator_version": self.stored.originator_version,
                "topic": self.stored.topic,
                "state": base64.b64encode(self.stored.state).decode("ascii"),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, value: bytes) -> EventMessage:
        data: dict[str, Any] = json.loads(value)
        return cls(
            position=int(data["position"]),
            previous=int(data["previous"]),
            stored=StoredEvent(
                originator_id=UUID(data["originator_id"]),
                originator_version=int(data["originator_version"]),
                topic=str(data["topic"]),
                state=base64.b64decode(data["state"]),
            ),
        )

    @classmethod
    def of(cls, notification: Notification, previous: int) -> EventMessage:
        return cls(
            position=notification.id,
            previous=previous,
            stored=StoredEvent(
                originator_id=notification.originator_id,
                originator_version=notification.originator_version,
                topic=notification.topic,
                state=notification.state,
            ),
        )
