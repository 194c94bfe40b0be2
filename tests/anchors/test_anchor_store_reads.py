"""The anchor store hands back what it holds, parsing a batch's record only when it must, and
on PostgreSQL fetching its text only when it changed. Each pass runs these on its own store."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from anchors.anchoring import AnchorRecord, AnchorStore, Attempt
from anchors.sql_store import SQLLogStore
from ledger.settings import Settings
from tests.conftest import STORE


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


@pytest.fixture
def store(settings: Settings) -> Iterator[Callable[[], AnchorStore]]:
    """Makes anchor stores of the pass's kind, each on a log store of its own, all on one
    database (as the processes of a deployment are)."""
    backend = importlib.import_module(f"ledger.persistence.{settings.store}")
    opened: list[SQLLogStore] = []

    def make() -> AnchorStore:
        opened.append(backend.open_log_store(settings))
        anchors: AnchorStore = backend.open_anchor_store(opened[-1])
        return anchors

    yield make
    for log_store in opened:
        log_store.close()


def test_a_record_this_store_saved_is_read_back_without_parsing_its_text(
    store: Callable[[], AnchorStore], parses: list[str]
) -> None:
    anchors = store()
    saved = record()
    anchors.save(saved)
    assert anchors.get(5) == saved
    assert anchors.unfinished() == [saved]
    assert parses == []


def test_a_record_saved_by_another_store_is_parsed_from_its_text(
    store: Callable[[], AnchorStore], parses: list[str]
) -> None:
    writer, reader = store(), store()
    writer.save(record())
    assert reader.get(5) == record()
    assert len(parses) == 1


def test_a_record_changed_by_another_store_is_read_as_it_now_is(
    store: Callable[[], AnchorStore], parses: list[str]
) -> None:
    first, second = store(), store()
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
    store: Callable[[], AnchorStore], parses: list[str], documents: list[Any]
) -> None:
    anchors = store()
    saved = record(documents)
    assert not saved.reads_back_as_itself()
    anchors.save(saved)
    assert anchors.get(5) == AnchorRecord.from_json(saved.to_json())
    assert len(parses) == 2  # the store's read and this test's


def test_a_plain_record_reads_back_as_itself() -> None:
    plain = record()
    assert plain.reads_back_as_itself()
    assert AnchorRecord.from_json(plain.to_json()) == plain


@pytest.mark.skipif(STORE != "postgres", reason="PostgreSQL's reads of a record's revision")
def test_a_record_unchanged_since_it_was_kept_is_not_sent_again(
    store: Callable[[], AnchorStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    anchors: Any = store()
    anchors.save(record())
    received: list[Any] = []
    rows = anchors._store._rows

    def receiving(statement: str, params: Any) -> list[Any]:
        found: list[Any] = rows(statement, params)
        received.extend(found)
        return found

    monkeypatch.setattr(anchors._store, "_rows", receiving)
    assert anchors.get(5) == record()
    assert anchors.unfinished() == [record()]
    assert [row[2] for row in received] == [None, None]
