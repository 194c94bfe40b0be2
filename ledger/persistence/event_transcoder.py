"""The stored events' JSON, read faster.

eventsourcing's :class:`~eventsourcing.persistence.JSONTranscoder` calls a Python hook for
every object in a stored event to find the ``{"_type_": …, "_data_": …}`` objects it wrote for
values JSON has no type for (a domain event's timestamp, say). The ledger's events have those at
the top level only, so they are read with :func:`ledger.domain.json_text.loads` and the
top-level values converted; an event with any other ``"_type_"`` in its text (nested, or a
string that happens to say ``_type_``) is read by the library's own decoder. Writing, the
top-level values of a registered type are transcoded here and the rest written by
:func:`ledger.domain.json_text.dumps`: the same bytes the library writes (a property test
compares them), or the library's encoder where the event holds anything else.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from ledger.domain import json_text

_TYPE_KEY = b'"_type_"'


class EventTranscoder(JSONTranscoder):
    """:class:`JSONTranscoder` with a faster :meth:`encode` and :meth:`decode` of the same
    bytes and results."""

    def encode(self, obj: Any) -> bytes:
        if type(obj) is not dict:
            return super().encode(obj)
        state = {}
        for key, value in obj.items():
            transcoding = self.types.get(type(value))
            if transcoding is not None:
                value = {"_type_": transcoding.name, "_data_": transcoding.encode(value)}
            state[key] = value
        return json_text.dumps(state, default=self._encode_obj)

    def decode(self, data: bytes) -> Any:
        typed = data.count(_TYPE_KEY)
        value = json_text.loads(data)
        if typed == 0:
            return value
        if isinstance(value, dict):
            for key, item in value.items():
                if type(item) is dict and len(item) == 2 and "_type_" in item:
                    value[key] = self._decode_obj(item)
                    typed -= 1
            if typed == 0:
                return value
        return super().decode(data)


def stored_event_transcoder() -> EventTranscoder:
    """The transcoder the ledger's events are stored with: the library's own transcodings
    (what :meth:`eventsourcing.application.Application.register_transcodings` registers), so
    that another process decodes a stored event's bytes exactly as the application does."""
    transcoder = EventTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder
