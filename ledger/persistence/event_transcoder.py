"""The stored events' JSON, read faster.

eventsourcing's :class:`~eventsourcing.persistence.JSONTranscoder` calls a Python hook for
every object in a stored event to find the ``{"_type_": …, "_data_": …}`` objects it wrote for
values JSON has no type for (a domain event's timestamp, say). The ledger's events have those at
the top level only, so they are read with :func:`ledger.domain.json_text.loads` and the
top-level values converted; an event with any other ``"_type_"`` in its text (nested, or a
string that happens to say ``_type_``) is read by the library's own decoder. Events are written
by the library's encoder, unchanged: the stored bytes are what they always were.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder

from ledger.domain import json_text

_TYPE_KEY = b'"_type_"'


class EventTranscoder(JSONTranscoder):
    """:class:`JSONTranscoder` with a faster :meth:`decode` of the same results."""

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
