"""The log's file is made with 16 KB pages, where envelopes of some 2 KB share a page instead
of each taking one; a log made before with SQLite's default pages keeps them and works on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from anchors.log import TransparencyLog
from anchors.merkle import leaf_hash, reference_root
from anchors.sqlite import LOG_PAGE_BYTES, SQLiteAnchorStore, SQLiteLogStore


def _page_size(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA page_size").fetchone()[0])


def _envelopes(count: int, start: int = 0) -> list[bytes]:
    return [b'{"position":%d,"content":"%s"}' % (start + i, b"x" * 2060) for i in range(count)]


def test_a_new_log_file_is_made_with_large_pages(tmp_path: Path) -> None:
    SQLiteLogStore(tmp_path / "log.sqlite")
    assert LOG_PAGE_BYTES == 16_384
    assert _page_size(tmp_path / "log.sqlite") == LOG_PAGE_BYTES


def test_the_anchor_store_opened_first_makes_the_same_pages(tmp_path: Path) -> None:
    log = SQLiteLogStore(tmp_path / "log.sqlite")
    SQLiteAnchorStore(log)
    assert _page_size(tmp_path / "log.sqlite") == LOG_PAGE_BYTES


def test_envelopes_of_two_kilobytes_share_pages(tmp_path: Path) -> None:
    log = TransparencyLog(SQLiteLogStore(tmp_path / "log.sqlite"))
    log.append(_envelopes(700), list(range(1, 701)))
    with sqlite3.connect(tmp_path / "log.sqlite") as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
    # 700 envelopes of ~2.1 KB, as a credential's are (too large for two to share a 4 KB page):
    # 1.5 MB of entries, in well under the 2.9 MB of a 4 KB page each.
    assert pages * LOG_PAGE_BYTES < 700 * 3_000


def test_a_log_made_with_small_pages_keeps_them_and_works_on(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA page_size=4096")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE made_before (id INTEGER PRIMARY KEY)")
    first = _envelopes(3)
    TransparencyLog(SQLiteLogStore(path)).append(first, [1, 2, 3])
    again = TransparencyLog(SQLiteLogStore(path))
    again.append(_envelopes(2, start=3), [4, 5])
    assert _page_size(path) == 4096
    assert again.store.entries(0, 5) == first + _envelopes(2, start=3)
    assert again.root() == reference_root([leaf_hash(e) for e in first + _envelopes(2, start=3)])
