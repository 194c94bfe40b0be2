"""The read model keeps where each follower of the store has got to (the Kafka relay's
position): moved only from where the mover last saw it, on each pass's own store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application.storage import Storage, open_storage
from ledger.persistence.read_model import PositionMoved
from ledger.settings import Settings


@pytest.fixture
def storage(settings: Settings) -> Iterator[Storage]:
    opened = open_storage(settings)
    yield opened
    opened.close()


def test_a_follower_not_yet_tracked_is_at_the_start(storage: Storage) -> None:
    assert storage.read_model.tracked("follower") == 0


def test_a_follower_moves_on_from_where_it_was(storage: Storage) -> None:
    storage.read_model.track("follower", 0, 5)
    storage.read_model.track("follower", 5, 9)
    assert storage.read_model.tracked("follower") == 9


def test_a_move_from_a_position_the_follower_has_left_is_refused_and_changes_nothing(
    storage: Storage,
) -> None:
    storage.read_model.track("follower", 0, 5)
    storage.read_model.track("follower", 5, 9)
    with pytest.raises(PositionMoved):
        storage.read_model.track("follower", 5, 7)
    assert storage.read_model.tracked("follower") == 9


def test_a_second_start_is_refused_and_changes_nothing(storage: Storage) -> None:
    storage.read_model.track("follower", 0, 5)
    with pytest.raises(PositionMoved):
        storage.read_model.track("follower", 0, 3)
    assert storage.read_model.tracked("follower") == 5


def test_a_followers_position_is_not_the_models_own(storage: Storage) -> None:
    storage.read_model.track("follower", 0, 5)
    assert storage.read_model.position() == 0
