"""A history stored before the aggregates moved still loads, replays and grows.

The events in ``history-2026-11-29/`` were written by main before the layout change, each under
a ``ledger.domain:`` topic (see its README). Stored events are never rewritten, so every one of
those topics must keep resolving to its class. In the PostgreSQL pass the same rows are written
into a PostgreSQL event store first, byte for byte, and read back from there.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from consumers.follower import NotificationFollower
from consumers.projector import ReadModelProjector
from ledger.application.storage import Storage, open_storage
from ledger.domain.aggregates import Credential, Issuer
from ledger.persistence.stored_topics import topics_of
from ledger.settings import Settings, create_secrets

HISTORY = Path(__file__).parent / "history-2026-11-29" / "events.sqlite"


def _stored_rows() -> list[StoredEvent]:
    with closing(sqlite3.connect(HISTORY)) as connection:
        rows = connection.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events"
            " ORDER BY rowid"
        ).fetchall()
    return [StoredEvent(UUID(o), v, topic, bytes(state)) for o, v, topic, state in rows]


@pytest.fixture
def storage(tmp_path: Path, database: Callable[[], dict[str, Any]]) -> Iterator[Storage]:
    data_dir = tmp_path / "data"
    create_secrets(data_dir)
    fields = database()
    if not fields:
        shutil.copy(HISTORY, data_dir / "events.sqlite")
    opened = open_storage(Settings(data_dir=data_dir, **(fields or {"store": "sqlite"})))
    if fields:
        for row in _stored_rows():  # one at a time: the store's order is the history's order
            opened.ledger.recorder.insert_events([row])
    try:
        yield opened
    finally:
        opened.close()


def test_the_history_was_stored_under_the_former_topics(storage: Storage) -> None:
    stored = storage.ledger.recorder.select_notifications(start=1, limit=100)
    assert len(stored) == 21
    assert all(n.topic.startswith("ledger.domain:") for n in stored)


def test_every_stored_event_loads_as_its_class(storage: Storage) -> None:
    stored = storage.ledger.recorder.select_notifications(start=1, limit=100)
    kinds = Counter(type(storage.ledger.mapper.to_domain_event(n)).__qualname__ for n in stored)
    assert kinds["Credential.Issued"] == 3
    assert kinds["Credential.Amended"] == 1
    assert kinds["Credential.Revoked"] == 1
    assert kinds["Credential.PersonalDataErased"] == 1
    assert kinds["Issuer.KeyRotated"] == 1
    assert kinds["BatchAnchor.Anchored"] >= 1


def test_the_read_model_rebuilt_from_it_has_every_credential_state(storage: Storage) -> None:
    ReadModelProjector(NotificationFollower(storage.ledger), storage.read_model).catch_up()
    page = storage.read_model.credentials(issuer_id=None, status=None, after=None, limit=10)
    states = sorted((c["status"], c["current_version"]) for c in page)
    assert states == [("active", 1), ("active", 2), ("revoked", 1)]


def test_a_query_by_topic_finds_events_stored_under_either_name(storage: Storage) -> None:
    versioned = storage.ledger.recorder.select_notifications(
        start=1, limit=100, topics=topics_of(Credential.Issued, Credential.Amended)
    )
    assert len(versioned) == 4


def test_an_aggregate_grows_with_events_under_its_current_topic(storage: Storage) -> None:
    (registered,) = storage.ledger.recorder.select_notifications(
        start=1, limit=100, topics=topics_of(Issuer.Registered)
    )
    storage.ledger.suspend_issuer(str(registered.originator_id), "a review of the register")
    last = storage.ledger.recorder.max_notification_id()
    latest = storage.ledger.recorder.select_notifications(start=last, limit=1)
    assert latest[0].topic == "ledger.domain.aggregates:Issuer.Suspended"
    issuer = storage.ledger.repository.get(registered.originator_id)
    assert isinstance(issuer, Issuer)
    assert issuer.version == 5  # registered, suspended, reinstated, key rotated, suspended
