"""What the anchorer and /metrics ask the log's stores, on the configured backend (SQLite,
and PostgreSQL in its pass): the batches in flight and the largest anchored, each witness's
latest cosignature."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from anchors.anchoring import AnchorRecord, AnchorTally, RecordedBlock
from ledger.application.storage import Storage, open_storage
from ledger.settings import Settings


@pytest.fixture
def storage(settings: Settings) -> Iterator[Storage]:
    opened = open_storage(settings)
    yield opened
    opened.close()


def _record(size: int, state: str) -> AnchorRecord:
    return AnchorRecord(
        checkpoint_size=size,
        checkpoint_note=f"note {size}",
        leaves=[],
        root="00" * 32,
        chain_id=31337,
        nonce=size,
        state=state,
        block_number=size if state != "pending" else None,
    )


def test_nothing_anchored_tallies_nothing(storage: Storage) -> None:
    assert storage.anchors.tally() == AnchorTally({}, 0, 0)


def test_the_tally_counts_batches_in_flight_and_finds_the_largest_anchored(
    storage: Storage,
) -> None:
    for size, state in ((5, "recorded"), (10, "recorded"), (20, "confirmed"), (30, "pending")):
        storage.anchors.save(_record(size, state))
    assert storage.anchors.tally() == AnchorTally({"pending": 1, "confirmed": 1}, 20, 10)
    assert [r.checkpoint_size for r in storage.anchors.unfinished()] == [20, 30]


def test_each_witness_is_found_with_the_largest_checkpoint_it_cosigned(storage: Storage) -> None:
    for size, witness in ((5, "w1"), (10, "w1"), (5, "w2"), (15, "other")):
        storage.log.store.add_cosignature(size, witness, f"{witness}@{size}")
    assert storage.log.store.cosigned_sizes(["w1", "w2", "w3"]) == {"w1": 10, "w2": 5}


def _mined(size: int, block: int) -> AnchorRecord:
    return replace(_record(size, "recorded"), block_number=block, block_hash=f"0x{block:064x}")


def test_the_reorganisation_watch_reads_where_recorded_anchors_were_mined(
    storage: Storage,
) -> None:
    for size, block in ((5, 3), (10, 7), (15, 9)):
        storage.anchors.save(_mined(size, block))
    storage.anchors.save(_record(20, "pending"))
    assert storage.anchors.recorded_since(7) == [
        RecordedBlock(10, 7, f"0x{7:064x}"),
        RecordedBlock(15, 9, f"0x{9:064x}"),
    ]
    assert storage.anchors.latest_size() == 20


def test_anchors_recorded_before_the_block_hash_column_are_watched_after_an_upgrade(
    settings: Settings,
) -> None:
    older = open_storage(settings)
    older.anchors.save(_mined(5, 3))
    with older.log.store._transaction(write=True) as c:  # the table as earlier versions made it
        c.execute("ALTER TABLE log_anchors DROP COLUMN block_hash")
    older.close()
    upgraded = open_storage(settings)
    try:
        assert upgraded.anchors.recorded_since(0) == [RecordedBlock(5, 3, f"0x{3:064x}")]
    finally:
        upgraded.close()
