"""``/tlog/``: the checkpoint and tiles as a cache or CDN should keep them — full tiles for ever,
partial tiles and the checkpoint only briefly — and a tile the checkpoint does not cover is a
404 problem."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from anchors.log import TransparencyLog
from anchors.sqlite import SQLiteLogStore
from anchors.tile_export import changed_tiles
from anchors.tlog_tiles import read_tile
from tests.conftest import RegisteredIssuer, RunningLedger, issue, wait_for


@pytest.fixture
def published(ledger: RunningLedger, issuer: RegisteredIssuer) -> int:
    """The size of a published checkpoint over a few credentials."""
    for _ in range(3):
        issue(ledger, issuer)
    last = ledger.embedded.storage.ledger.recorder.max_notification_id() or 0
    store = ledger.embedded.storage.log.store

    def covers_the_credentials() -> bool:
        # A checkpoint over the last credential's entry. Not "over the whole log": the
        # anchoring's own events after a checkpoint wait for the next credential before one
        # covers them, so the whole log is under a checkpoint only in a window.
        index = store.index_of(last)
        latest = store.latest_checkpoint()
        return index is not None and latest is not None and latest[0] > index

    wait_for(covers_the_credentials, timeout=60)
    latest = store.latest_checkpoint()
    assert latest is not None
    return latest[0]


def test_the_checkpoint_is_the_latest_signed_note_and_short_lived(
    ledger: RunningLedger, published: int
) -> None:
    answer = httpx.get(f"{ledger.url}/tlog/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=5"
    origin = httpx.get(f"{ledger.url}/log/key").json()["origin"]
    first_line, size, _ = answer.text.split("\n", 2)
    assert first_line == origin
    assert int(size) >= published  # anchoring may have added an event since
    assert "\n\n\u2014 " in answer.text


def test_a_partial_tile_is_short_lived_and_answers_304_to_its_etag(
    ledger: RunningLedger, published: int
) -> None:
    url = f"{ledger.url}/tlog/tile/0/000.p/{published}"
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert len(answer.content) == 32 * published
    assert answer.headers["cache-control"] == "public, max-age=5"
    again = httpx.get(url, headers={"If-None-Match": answer.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


def test_the_entry_bundle_holds_each_entry_behind_its_length(
    ledger: RunningLedger, published: int
) -> None:
    bundle = httpx.get(f"{ledger.url}/tlog/tile/entries/000.p/{published}").content
    first = ledger.embedded.storage.log.store.entries(0, 1)[0]
    assert bundle[:2] == len(first).to_bytes(2, "big") and bundle[2 : 2 + len(first)] == first


@pytest.mark.parametrize(
    "path", ["tile/0/000", "tile/0/000.p/200", "tile/1/000.p/1", "tile/entries/001.p/1"]
)
def test_a_tile_the_checkpoint_does_not_cover_is_a_404_problem(
    ledger: RunningLedger, published: int, path: str
) -> None:
    answer = httpx.get(f"{ledger.url}/tlog/{path}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "beyond the checkpoint" in answer.json()["detail"]


@pytest.mark.parametrize("path", ["tile/0/0", "tile/0/x000/000", "tile/0/000.p/256", "tile/x"])
def test_a_path_that_names_no_tile_is_a_404_problem(ledger: RunningLedger, path: str) -> None:
    answer = httpx.get(f"{ledger.url}/tlog/{path}")
    assert answer.status_code == 404
    assert re.search("not (a tile path|the canonical path of a tile)", answer.json()["detail"])


def test_the_served_tiles_are_those_an_embedded_sqlite_log_makes_of_the_same_entries(
    ledger: RunningLedger, issuer: RegisteredIssuer, published: int, tmp_path: Path
) -> None:
    # On the PostgreSQL pass this compares that store's tiles with SQLite's, byte for byte.
    served_log = ledger.embedded.storage.log
    entries = served_log.store.entries(0, published)
    embedded = TransparencyLog(SQLiteLogStore(tmp_path / "embedded-log.sqlite"))
    embedded.append(entries, list(range(1, published + 1)))
    for tile in changed_tiles(0, published):
        answer = httpx.get(f"{ledger.url}/tlog/{tile.path()}")
        assert answer.status_code == 200, tile.path()
        assert answer.content == read_tile(embedded, tile, published), tile.path()
