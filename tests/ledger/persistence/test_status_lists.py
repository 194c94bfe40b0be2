"""How the read model places new credentials in their issuer's status lists: a list takes
credentials until it is half full, then the next one opens; an index already taken probes on
to the next free one; a transaction's placements (a run of new credentials written together)
count the same as one at a time. A projector may keep the places taken in memory between its
transactions: it places exactly as one that asks the store, also after another projector's
commit or a failed transaction, and keeps a bounded number of lists."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.domain import samples
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


def content() -> dict[str, Any]:
    """A credential's content as the projector is given it (the learner as a commitment)."""
    found = samples.credential_content(datetime(2026, 3, 1, tzinfo=UTC))
    found["learner"] = {"commitment": "c" * 64}
    return found


def issue(model: ReadModel, batches: list[list[str]]) -> None:
    """Record each batch of new credentials in one transaction, as the projector does."""
    position = model.position()
    for batch in batches:
        with model.transaction(position, position + len(batch)) as writer:
            for offset, credential_id in enumerate(batch, start=1):
                writer.credential_version(
                    credential_id,
                    ISSUER,
                    1,
                    "issued",
                    content(),
                    "2026-03-01T00:00:00Z",
                    position + offset,
                )
        position += len(batch)


@pytest.mark.usefixtures("small_lists")
@pytest.mark.parametrize(
    "write", [place, issue], ids=["placed one by one", "issued as a run of new credentials"]
)
def test_one_transaction_or_one_at_a_time_gives_the_same_places(
    fresh_read_model: Callable[[str], ReadModel],
    monkeypatch: pytest.MonkeyPatch,
    write: Callable[[ReadModel, list[list[str]]], None],
) -> None:
    # Only each first index is read ahead: every probe beyond it asks on its own.
    monkeypatch.setattr(read_model, "PROBE_WINDOW", 1)
    credentials = [str(uuid.uuid4()) for _ in range(11)]
    together, apart = fresh_read_model("together"), fresh_read_model("apart")
    write(together, [credentials])
    write(apart, [[c] for c in credentials])
    assert lists_and_entries(together) == lists_and_entries(apart)
    assert together.digest()[0] == apart.digest()[0]


def test_an_amendment_in_the_same_transaction_finds_the_credential_it_amends(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    model = fresh_read_model("amended")
    credential_id = str(uuid.uuid4())
    with model.transaction(0, 2) as writer:
        writer.credential_version(
            credential_id, ISSUER, 1, "issued", content(), "2026-03-01T00:00:00Z", 1
        )
        version = writer.current_version(credential_id) + 1
        writer.credential_version(
            credential_id, ISSUER, version, "amended", content(), "2026-03-02T00:00:00Z", 2
        )
    found = model.credential(credential_id)
    assert found is not None
    assert [v["version"] for v in found["versions"]] == [1, 2]


def kept(model: ReadModel) -> ReadModel:
    model.keep_places()
    return model


@pytest.mark.usefixtures("small_lists")
@pytest.mark.parametrize(
    "write", [place, issue], ids=["placed one by one", "issued as a run of new credentials"]
)
def test_an_only_writer_keeping_the_places_in_memory_gives_the_same_places(
    fresh_read_model: Callable[[str], ReadModel],
    write: Callable[[ReadModel, list[list[str]]], None],
) -> None:
    credentials = [str(uuid.uuid4()) for _ in range(11)]
    batches = [credentials[:3], credentials[3:4], credentials[4:9], credentials[9:]]
    asked, remembered = fresh_read_model("asked"), kept(fresh_read_model("remembered"))
    write(asked, batches)
    write(remembered, batches)
    assert lists_and_entries(remembered) == lists_and_entries(asked)
    assert remembered.digest()[0] == asked.digest()[0]


@pytest.mark.usefixtures("small_lists")
def test_places_kept_in_memory_start_from_the_places_already_stored(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    credentials = [str(uuid.uuid4()) for _ in range(7)]
    asked, remembered = fresh_read_model("asked"), fresh_read_model("remembered")
    issue(asked, [credentials])
    # Written by an ordinary writer first, then by one that keeps the places.
    issue(remembered, [credentials[:3]])
    issue(kept(remembered), [credentials[3:]])
    assert lists_and_entries(remembered) == lists_and_entries(asked)


@pytest.mark.usefixtures("small_lists")
def test_places_taken_in_a_transaction_that_fails_are_free_again(
    fresh_read_model: Callable[[str], ReadModel],
) -> None:
    credentials = [str(uuid.uuid4()) for _ in range(3)]
    failed = [str(uuid.uuid4()) for _ in range(3)]
    asked, remembered = fresh_read_model("asked"), kept(fresh_read_model("remembered"))
    issue(asked, [credentials])
    issue(remembered, [credentials])
    with pytest.raises(RuntimeError), remembered.transaction(3, 6) as writer:
        for credential_id in failed:
            writer.place_in_status_list(credential_id, ISSUER)
        raise RuntimeError("the transaction fails after placing three credentials")
    later = [str(uuid.uuid4()) for _ in range(3)]
    issue(asked, [later])
    issue(remembered, [later])
    assert lists_and_entries(remembered) == lists_and_entries(asked)


def test_another_projectors_commit_makes_the_keeping_one_read_the_places_again(
    fresh_read_model: Callable[[str], ReadModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One list of eight places, filled: the first projector's last two credentials would
    # take places the other's four took, were they unknown to it (fixed ids: the indexes
    # are theirs).
    monkeypatch.setattr(read_model, "STATUS_LIST_SIZE", 8)
    monkeypatch.setattr(read_model, "STATUS_LIST_FILL", 8)
    credentials = [f"credential-{n}" for n in range(8)]
    asked = fresh_read_model("asked")
    keeping, other = kept(fresh_read_model("one model")), fresh_read_model("one model")
    issue(asked, [credentials])
    issue(keeping, [credentials[:2]])
    issue(other, [credentials[2:6]])
    # The keeping projector goes on from where its own transaction left the model.
    with pytest.raises(read_model.PositionMoved), keeping.transaction(2, 4):
        pass
    issue(keeping, [credentials[6:]])
    assert lists_and_entries(keeping) == lists_and_entries(asked)


# What the places read a list through (only passed on to the store's read).
SOME_CURSOR: Any = object()


class StoredPlaces:
    """A store's taken places, counting the reads of whole lists."""

    def __init__(self) -> None:
        self.taken: set[tuple[str, int, int]] = set()
        self.reads: list[tuple[str, int]] = []

    def read(self, cursor: object, issuer_id: str, list_no: int) -> list[int]:
        self.reads.append((issuer_id, list_no))
        return [i for (issuer, n, i) in self.taken if (issuer, n) == (issuer_id, list_no)]


def test_a_list_is_kept_for_the_whole_transaction_beyond_the_capacity() -> None:
    # A place taken in a transaction is written at its end: a list read again in the middle
    # of it would not show the place.
    places = read_model.KeptPlaces(StoredPlaces().read, capacity=1)
    places.begin(cursor=SOME_CURSOR)
    places.take(ISSUER, 0, 5)
    assert not places.taken("another issuer", 0, 5)
    assert places.taken(ISSUER, 0, 5)


def test_beyond_the_capacity_the_least_recently_used_list_is_let_go_between_transactions() -> None:
    stored = StoredPlaces()
    places = read_model.KeptPlaces(stored.read, capacity=2)
    places.begin(cursor=SOME_CURSOR)
    for issuer_id in ("a", "b", "a", "c"):
        places.taken(issuer_id, 0, 1)
    places.begin(cursor=SOME_CURSOR)
    for issuer_id in ("a", "c", "b"):
        places.taken(issuer_id, 0, 1)
    assert stored.reads == [("a", 0), ("b", 0), ("c", 0), ("b", 0)]


@pytest.mark.usefixtures("small_lists")
def test_lists_let_go_beyond_the_capacity_are_read_again_when_needed(
    fresh_read_model: Callable[[str], ReadModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read_model, "KEPT_LISTS", 1)
    issuers = [ISSUER, "7a9f3c2e-0000-4000-8000-000000000002"]
    # Both issuers' lists in every transaction: one is let go only between transactions.
    runs = [[(str(uuid.uuid4()), issuers[k % 2]) for k in range(3)] for _ in range(4)]
    asked, remembered = fresh_read_model("asked"), kept(fresh_read_model("remembered"))
    for model in (asked, remembered):
        for position, run in enumerate(runs):
            with model.transaction(position, position + 1) as writer:
                for credential_id, issuer_id in run:
                    writer.place_in_status_list(credential_id, issuer_id)
    assert lists_and_entries(remembered) == lists_and_entries(asked)
