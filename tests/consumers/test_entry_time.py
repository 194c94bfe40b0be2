"""The anchoring side reads when each anchored entry's event was stored (for the store-to-anchor
latency it reports) from the entry's bytes, without parsing the whole envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from consumers.anchor_consumer import _stored_at, stored_times
from ledger.domain.canonical import canonical_bytes

STORED = datetime(2026, 12, 1, 15, 4, 5, 678901, tzinfo=UTC)


def _entry(content: dict[str, Any]) -> bytes:
    return canonical_bytes(
        {
            "v": 1,
            "position": 7,
            "type": "Issued",
            "aggregate_id": "a",
            "aggregate_version": 1,
            "time": STORED.isoformat(),
            "issuer_id": "i",
            "content": content,
            "signature": None,
        }
    )


def test_the_envelopes_own_time_is_read_not_a_time_in_its_content() -> None:
    content = {"time": "2001-01-01T00:00:00+00:00", "note": '"time":"2002-02-02T00:00:00"'}
    assert _stored_at(_entry(content)) == STORED.timestamp()


@given(
    st.dictionaries(
        st.sampled_from(["time", "type", "v", "note", "zz"]),
        st.text(alphabet='"time:\\{}[],2001-T', max_size=30),
        max_size=5,
    )
)
def test_any_content_leaves_the_stored_time_as_parsing_gives_it(content: dict[str, str]) -> None:
    assert _stored_at(_entry(content)) == STORED.timestamp()


def _logged(*entries: bytes) -> MemoryLogStore:
    store = MemoryLogStore()
    TransparencyLog(store).append(list(entries), list(range(1, len(entries) + 1)))
    return store


def test_the_times_read_from_the_entries_last_bytes_are_those_of_the_whole_entries() -> None:
    entries = [_entry({"note": "x" * size}) for size in (0, 3, 5_000)]
    assert stored_times(_logged(*entries), 0, 3) == [STORED.timestamp()] * 3


def test_an_entry_whose_last_bytes_lack_its_time_is_read_whole() -> None:
    long_type = canonical_bytes({"time": STORED.isoformat(), "type": "T" * 400, "v": 1})
    assert stored_times(_logged(_entry({}), long_type), 0, 2) == [STORED.timestamp()] * 2
