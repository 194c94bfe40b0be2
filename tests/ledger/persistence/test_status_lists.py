"""How the read model places new credentials in their issuer's status lists: a list takes
credentials until it is half full, then the next one opens; an index already taken probes on
to the next free one; a transaction's placements count the same as one at a time."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from ledger.persistence import read_model
from ledger.persistence.read_model import ReadModel

ISSUER = "7a9f3c2e-0000-4000-8000-000000000001"


@pytest.fixture
def small_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    # Eight places, four used before the next list opens: collisions are certain.
    monkeypatch.setattr(read_model, "STATUS_LIST_SIZE", 8)
    monkeypatch.setattr(read_model, "STATUS_LIST_FILL", 4)


def place(model: ReadModel, batches: list[list[str]]) -> None:
    position = model.position()
    for batch in batches:
        with model.transaction(position, position + 1) as writer:
            for credential_id in batch:
                writer.place_in_status_list(credential_id, ISSUER)
        position += 1


def lists_and_entries(model: ReadModel) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    with model._cursor(write=False) as c:
        c.execute("SELECT list_no, used FROM rm_status_lists ORDER BY list_no")
        lists = [(int(r[0]), int(r[1])) for r in c.fetchall()]
        c.execute("SELECT list_no, idx FROM rm_status_entries ORDER BY list_no, idx")
        entries = [(int(r[0]), int(r[1])) for r in c.fetchall()]
    return lists, entries


@pytest.mark.usefixtures("small_lists")
def test_a_list_takes_credentials_until_half_full_then_the_next_opens(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    model = fresh_read_model("lists")
    place(model, [[str(uuid.uuid4()) for _ in range(6)], [str(uuid.uuid4()) for _ in range(4)]])
    lists, entries = lists_and_entries(model)
    assert lists == [(0, 4), (1, 4), (2, 2)]
    assert [n for n, _ in entries] == [0] * 4 + [1] * 4 + [2] * 2
    assert len(set(entries)) == 10  # no place given twice: taken indexes probed on


@pytest.mark.usefixtures("small_lists")
def test_placing_in_one_transaction_or_one_at_a_time_gives_the_same_places(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    credentials = [str(uuid.uuid4()) for _ in range(11)]
    together, apart = fresh_read_model("together"), fresh_read_model("apart")
    place(together, [credentials])
    place(apart, [[c] for c in credentials])
    assert lists_and_entries(together) == lists_and_entries(apart)
    assert together.digest()[0] == apart.digest()[0]
