"""The anchor store hands back what it holds, parsing a batch's record only when it must."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from anchors.anchoring import AnchorRecord, Attempt
from anchors.sqlite import SQLiteAnchorStore, SQLiteLogStore
from tests.conftest import store_independent

pytestmark = store_independent


def record(documents: list[Any] | None = None) -> AnchorRecord:
    return AnchorRecord(
        checkpoint_size=5,
        checkpoint_note="example.org/log\n5\nAAA=\n",
        leaves=["ab" * 32, "cd" * 32],
        root="00" * 32,
        chain_id=31337,
        nonce=3,
        attempts=[Attempt("0x1", "0x02", 7, 2, 1_700_000_000.25)],
        documents=[{"document_id": "d", "leaf_index": 1, "note": "Université"}]
        if documents is None
        else documents,
    )


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the store parses into records, as it parses them."""
    parsed: list[str] = []
    original = AnchorRecord.from_json.__func__  # type: ignore[attr-defined]

    def counting(cls: type[AnchorRecord], text: str) -> AnchorRecord:
        parsed.append(text)
        result: AnchorRecord = original(cls, text)
        return result

    monkeypatch.setattr(AnchorRecord, "from_json", classmethod(counting))
    return parsed


def store(path: Path) -> SQLiteAnchorStore:
    return SQLiteAnchorStore(SQLiteLogStore(path / "log.sqlite"))


def test_a_record_this_store_saved_is_read_back_without_parsing_its_text(
    tmp_path: Path, parses: list[str]
) -> None:
    anchors = store(tmp_path)
    saved = record()
    anchors.save(saved)
    assert anchors.get(5) == saved
    assert anchors.unfinished() == [saved]
    assert parses == []


def test_a_record_saved_by_another_store_is_parsed_from_its_text(
    tmp_path: Path, parses: list[str]
) -> None:
    writer, reader = store(tmp_path), store(tmp_path)
    writer.save(record())
    assert reader.get(5) == record()
    assert len(parses) == 1


def test_a_record_changed_by_another_store_is_read_as_it_now_is(
    tmp_path: Path, parses: list[str]
) -> None:
    first, second = store(tmp_path), store(tmp_path)
    first.save(record())
    confirmed = replace(record(), state="confirmed", block_number=9, tx_hash="0x1")
    second.save(confirmed)
    assert first.get(5) == confirmed
    assert len(parses) == 1


@pytest.mark.parametrize(
    "documents",
    [
        [{"document_id": "d", "leaf_index": 1.5}],
        [{"document_id": "d", "placed": ("a", "b")}],
        [{1: "a key that is not text"}],
    ],
    ids=["a float", "a tuple", "a key that is not text"],
)
def test_a_record_whose_text_reads_back_otherwise_is_handed_back_as_its_text_says(
    tmp_path: Path, parses: list[str], documents: list[Any]
) -> None:
    anchors = store(tmp_path)
    saved = record(documents)
    assert not saved.reads_back_as_itself()
    anchors.save(saved)
    assert anchors.get(5) == AnchorRecord.from_json(saved.to_json())
    assert len(parses) == 2  # the store's read and this test's


def test_a_plain_record_reads_back_as_itself() -> None:
    plain = record()
    assert plain.reads_back_as_itself()
    assert AnchorRecord.from_json(plain.to_json()) == plain
