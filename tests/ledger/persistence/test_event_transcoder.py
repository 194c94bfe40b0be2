"""Stored events read by the ledger's transcoder give what the library's own transcoder gives,
and what it writes is what the library writes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from ledger.persistence.event_transcoder import EventTranscoder

WHEN = datetime(2026, 12, 1, 4, 30, 0, 123456, tzinfo=UTC)


def transcoders() -> tuple[JSONTranscoder, EventTranscoder]:
    library, ours = JSONTranscoder(), EventTranscoder()
    for transcoder in (library, ours):
        for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
            transcoder.register(transcoding)
    return library, ours


@pytest.mark.parametrize(
    "state",
    [
        {"timestamp": WHEN, "issuer_id": "i-1", "command": {"title": "Zoë", "points": [5, 2.5]}},
        {"timestamp": WHEN, "id": UUID(int=7), "amount": Decimal("2.50")},
        {"plain": True, "nothing": None},
        {"timestamp": WHEN, "nested": {"at": WHEN, "ids": [UUID(int=1)]}},
        {"timestamp": WHEN, "title": "_type_"},  # a string that says _type_
        {"timestamp": WHEN, "content": {"_type_": "not ours", "x": 1}},
        {"_type_": "datetime_iso", "_data_": "2026-12-01T00:00:00+00:00"},
        {"timestamp": WHEN, "big": 2**70, "small": -(2**63)},
        {"timestamp": WHEN, "content": {"_type_": "datetime_iso", "_data_": "x", "y": 1}},
    ],
)
def test_an_event_reads_back_as_the_library_reads_it(state: dict[str, Any]) -> None:
    library, ours = transcoders()
    stored = library.encode(state)
    assert ours.encode(state) == stored
    assert ours.decode(stored) == library.decode(stored)


def test_a_type_nobody_registered_is_refused_as_the_library_refuses_it() -> None:
    library, ours = transcoders()
    stored = b'{"timestamp":{"_type_":"mystery","_data_":"x"}}'
    with pytest.raises(TranscodingNotRegisteredError):
        library.decode(stored)
    with pytest.raises(TranscodingNotRegisteredError):
        ours.decode(stored)
