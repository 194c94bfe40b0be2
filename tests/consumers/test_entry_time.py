"""The anchoring side reads when each anchored entry's event was stored (for the store-to-anchor
latency it reports) from the entry's bytes, without parsing the whole envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from consumers.anchor_consumer import _stored_at
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
