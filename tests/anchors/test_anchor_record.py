"""A batch's anchor record reads back exactly as it was written, whatever its values."""

from __future__ import annotations

import pytest

from anchors.anchoring import AnchorRecord, Attempt


def record(fee: int, note: str = "example.org/log\n5\nAAA=\n") -> AnchorRecord:
    return AnchorRecord(
        checkpoint_size=5,
        checkpoint_note=note,
        leaves=["ab" * 32, "12345678901234567890" + "cd" * 22],
        root="00" * 32,
        chain_id=31337,
        nonce=3,
        attempts=[Attempt("0x1", "0x02", fee, 2, 1_700_000_000.25)],
        documents=[{"document_id": "d", "leaf_index": 1, "note": "Université"}],
    )


@pytest.mark.parametrize(
    "fee", [7, 2**64 - 1, 2**70 + 1], ids=["small", "64-bit", "beyond 64 bits"]
)
def test_a_record_reads_back_as_written(fee: int) -> None:
    written = record(fee)
    assert AnchorRecord.from_json(written.to_json()) == written


def test_a_record_written_with_spaces_reads_back_its_integers_beyond_64_bits() -> None:
    # The standard library's own layout (spaces after separators), a fee below zero.
    text = record(-(2**70 + 1)).to_json().replace('":', '": ').replace(",", ", ")
    assert AnchorRecord.from_json(text).attempts[0].max_fee_per_gas == -(2**70 + 1)


def test_a_record_keeps_text_beyond_ascii_as_it_is() -> None:
    assert "Université" in record(7).to_json()
