"""The Kafka transport's messages: stored events, each linked to the one before it.

A message carries the stored event exactly as the store holds it (so consumers decode it with
the application's own mapper) with its position and the position of the event published just
before it. That link lets a consumer take events strictly in the store's order: a message
whose predecessor it has not seen is a gap or a reordering, and it waits; a message it has
already applied is a duplicate, and it drops it. Store positions may have holes (PostgreSQL
skips ids of rolled-back transactions); the links do not.

On the wire a message is a version byte, a fixed header (position, previous position,
originator id and version, the topic's length), the event's topic and its stored state as it
is. Messages published before this form were JSON objects with the state in base64 (a third
larger, and a JSON parse of the whole state for every consumer): they are still read.

The relay publishes a run of consecutive events as one Kafka record: a version byte, then each
event's binary form prefixed by its length (unsigned 32-bit, big-endian). The broker and both
Kafka clients do their work by record, and a record of one event cost them more than the event
(see docs/benchmarks.md). Records of one event, in either earlier form, are still read.
"""

from __future__ import annotations

import base64
import json
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

# The binary form's version byte and header: position, previous, originator id, originator
# version, the topic's length in bytes (big-endian, signed 64-bit positions and versions).
_BINARY = 1
_HEADER = struct.Struct(">Bqq16sqH")
# A run's version byte, and the length before each of its events.
_RUN = 2
_RUN_BYTE = bytes((_RUN,))
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class EventMessage:
    position: int
    previous: int
    stored: StoredEvent

    def encode(self) -> bytes:
        """The message as published: the binary form."""
        topic = self.stored.topic.encode()
        originator = self.stored.originator_id
        header = _HEADER.pack(
            _BINARY,
            self.position,
            self.previous,
            (originator if isinstance(originator, UUID) else UUID(str(originator))).bytes,
            self.stored.originator_version,
            len(topic),
        )
        return b"".join((header, topic, self.stored.state))

    @classmethod
    def decode(cls, value: bytes) -> EventMessage:
        """A message as published, in the binary form or the earlier JSON one."""
        if value[:1] == b"{":
            return cls._decode_json(value)
        if value[:1] != bytes((_BINARY,)) or len(value) < _HEADER.size:
            raise ValueError(f"not an event message (starts with {value[:1]!r})")
        _, position, previous, originator, version, topic_length = _HEADER.unpack_from(value)
        state_at = _HEADER.size + topic_length
        if len(value) < state_at:
            raise ValueError("an event message cut short in its topic")
        return cls(
            position=position,
            previous=previous,
            stored=StoredEvent(
                originator_id=UUID(bytes=originator),
                originator_version=version,
                topic=value[_HEADER.size : state_at].decode(),
                state=value[state_at:],
            ),
        )

    @classmethod
    def _decode_json(cls, value: bytes) -> EventMessage:
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


def encode_run(messages: Sequence[EventMessage]) -> bytes:
    """One record's value for consecutive ``messages`` (at least one)."""
    if not messages:
        raise ValueError("a run holds at least one event")
    (value,) = runs(messages, most_bytes=sys.maxsize)
    return value


def decode_record(value: bytes) -> list[EventMessage]:
    """The events of one record's value: a run, or a single event in an earlier form."""
    if value[:1] != _RUN_BYTE:
        return [EventMessage.decode(value)]
    messages = []
    at = 1
    while at < len(value):
        if at + _LENGTH.size > len(value):
            raise ValueError("a run of event messages cut short in a length")
        (length,) = _LENGTH.unpack_from(value, at)
        at += _LENGTH.size
        if at + length > len(value):
            raise ValueError("a run of event messages cut short in an event")
        messages.append(EventMessage.decode(value[at : at + length]))
        at += length
    if not messages:
        raise ValueError("a run of event messages holds none")
    return messages


def runs(messages: Sequence[EventMessage], most_bytes: int) -> list[bytes]:
    """``messages`` in order as the values of records of at most ``most_bytes`` each (an event
    larger than that is a run of its own)."""
    values: list[bytes] = []
    parts: list[bytes] = []
    size = 1
    for message in messages:
        encoded = message.encode()
        if parts and size + _LENGTH.size + len(encoded) > most_bytes:
            values.append(b"".join((_RUN_BYTE, *parts)))
            parts, size = [], 1
        parts += (_LENGTH.pack(len(encoded)), encoded)
        size += _LENGTH.size + len(encoded)
    if parts:
        values.append(b"".join((_RUN_BYTE, *parts)))
    return values
