"""The log's stores give an entry's last bytes without sending the rest: what the anchoring
reads each entry's stored time from (on SQLite, and PostgreSQL in its pass)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application.storage import Storage, open_storage
from ledger.settings import Settings


@pytest.fixture
def storage(settings: Settings) -> Iterator[Storage]:
    opened = open_storage(settings)
    yield opened
    opened.close()


def test_each_entrys_last_bytes_are_its_own_and_a_shorter_entry_is_given_whole(
    storage: Storage,
) -> None:
    entries = [b"", b"abc", bytes(range(256)) * 3, "é".encode() * 100]
    storage.log.append(entries, [1, 2, 3, 4])
    assert storage.log.store.entry_ends(0, 4, 5) == [
        b"",
        b"abc",
        bytes(range(251, 256)),
        entries[3][-5:],
    ]
    assert storage.log.store.entry_ends(1, 3, 3) == [b"abc", bytes(range(253, 256))]
