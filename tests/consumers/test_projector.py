"""The read model follows the event store exactly once and can be rebuilt from history alone."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from consumers.follower import NotificationFollower, StoredEvent
from consumers.projector import ReadModelProjector
from ledger.domain.signing import IssuerKey
from ledger.persistence import read_model
from ledger.persistence.read_model import ReadModel
from ledger.settings import Settings
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, issue, wait_for


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A ledger that anchors nothing while a test runs: an anchor is an event in the store
    too, and one recorded between a test's two reads of the history (a batch closing after its
    second, on a slow machine) made them differ."""
    return settings.model_copy(update={"batch_age_seconds": 3600.0})


def busy_history(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    """Issues, amendments, revocations, an erasure, a suspension and a key rotation."""
    ids = [issue(ledger, issuer, learner={**LEARNER, "identifier": f"l{i}"}) for i in range(6)]
    ledger.public.amend(issuer.signer.amend(ids[0], 1, content(title="v2"), learner=LEARNER))
    ledger.public.revoke(issuer.signer.revoke(ids[1], 1, "withdrawn"))
    ledger.public.erase(issuer.signer.erase(ids[2], 1))
    new_key = IssuerKey.generate()
    ledger.public.rotate_key(issuer.signer.rotate_key(new_key))
    ledger.admin.suspend_issuer(issuer.issuer_id, "audit")
    ledger.admin.reinstate_issuer(issuer.issuer_id, "audit passed")


def fresh_projection(
    ledger: RunningLedger, model: ReadModel
) -> tuple[ReadModel, ReadModelProjector]:
    follower = NotificationFollower(ledger.embedded.storage.ledger, batch_size=7)
    return model, ReadModelProjector(follower, model)


def test_a_read_model_rebuilt_from_history_equals_the_live_one(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    busy_history(ledger, issuer)
    live = ledger.embedded.storage.read_model
    ledger.embedded.projector.catch_up()
    rebuilt, projector = fresh_projection(ledger, fresh_read_model("rebuilt"))
    projector.catch_up()
    assert rebuilt.digest() == live.digest()
    assert (
        rebuilt.credential(
            live.credentials(issuer_id=None, status=None, after=None, limit=1)[0]["credential_id"]
        )
        is not None
    )


def test_a_changed_row_changes_the_digest(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    busy_history(ledger, issuer)
    rebuilt, projector = fresh_projection(ledger, fresh_read_model("rebuilt"))
    projector.catch_up()
    before = rebuilt.digest()
    with rebuilt._cursor(write=True) as c:
        c.execute("UPDATE rm_credentials SET status = 'active' WHERE status = 'revoked'")
    assert rebuilt.digest() != before


def kept(model: ReadModel) -> ReadModel:
    model.keep_places()
    return model


def asking(model: ReadModel) -> ReadModel:
    return model


@pytest.mark.parametrize("places", [asking, kept], ids=["asking the store", "keeping places"])
def test_two_projectors_on_one_read_model_apply_each_event_once(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    fresh_read_model: Callable[[str], ReadModel],
    places: Callable[[ReadModel], ReadModel],
) -> None:
    busy_history(ledger, issuer)
    _, first = fresh_projection(ledger, places(fresh_read_model("common")))
    model, second = fresh_projection(ledger, places(fresh_read_model("common")))
    threads = [threading.Thread(target=p.catch_up) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert model.digest() == ledger.embedded.storage.read_model.digest()


def test_a_restarted_projector_resumes_where_it_stopped(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    issue(ledger, issuer)
    _, projector = fresh_projection(ledger, fresh_read_model("resumed"))
    reached = projector.catch_up()
    busy_history(ledger, issuer)
    model, restarted = fresh_projection(ledger, fresh_read_model("resumed"))
    assert model.position() == reached
    restarted.catch_up()
    assert model.digest() == ledger.embedded.storage.read_model.digest()


def test_a_projector_continues_where_another_moved_the_model_since_its_last_catch_up(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    issue(ledger, issuer)
    _, behind = fresh_projection(ledger, fresh_read_model("moved"))
    behind.catch_up()
    busy_history(ledger, issuer)
    model, ahead = fresh_projection(ledger, fresh_read_model("moved"))
    ahead.catch_up()
    ledger.admin.suspend_issuer(issuer.issuer_id, "a later event")
    reached: list[int] = []
    # In a thread: a projector that kept its stale position would retry it for ever.
    catching_up = threading.Thread(target=lambda: reached.append(behind.catch_up()), daemon=True)
    catching_up.start()
    catching_up.join(timeout=60)
    assert reached == [ledger.embedded.storage.ledger.recorder.max_notification_id()]
    assert model.digest() == ledger.embedded.storage.read_model.digest()


def test_a_projector_keeping_its_places_continues_where_another_moved_the_model(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    fresh_read_model: Callable[[str], ReadModel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Eight places a list: the other projector's placements are certain to collide with
    # what the first would choose from places it kept.
    monkeypatch.setattr(read_model, "STATUS_LIST_SIZE", 8)
    monkeypatch.setattr(read_model, "STATUS_LIST_FILL", 4)
    issue(ledger, issuer)
    _, behind = fresh_projection(ledger, kept(fresh_read_model("moved")))
    behind.catch_up()
    for n in range(5):
        issue(ledger, issuer, learner={**LEARNER, "identifier": f"by-the-other-{n}"})
    model, ahead = fresh_projection(ledger, fresh_read_model("moved"))
    ahead.catch_up()
    for n in range(5):
        issue(ledger, issuer, learner={**LEARNER, "identifier": f"by-the-first-{n}"})
    assert behind.catch_up() == ledger.embedded.storage.ledger.recorder.max_notification_id()
    assert model.digest() == ledger.embedded.storage.read_model.digest()


def test_the_running_projector_asks_the_store_about_no_status_place(
    ledger: RunningLedger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue(ledger, issuer)  # the issuer's list, read once
    model = ledger.embedded.storage.read_model
    asked: list[object] = []
    monkeypatch.setattr(model, "_taken_among", lambda *args: asked.append(args) or [])
    monkeypatch.setattr(
        read_model.ReadModelWriter, "_place_alone", lambda *args: asked.append(args) or (0, 0)
    )
    ids = [issue(ledger, issuer, learner={**LEARNER, "identifier": f"k{n}"}) for n in range(3)]
    assert asked == []
    assert all(model.credential(credential_id) is not None for credential_id in ids)


class CountingFollower(NotificationFollower):
    """The store's follower, counting the reads a catch-up makes."""

    reads = 0

    def after(self, position: int) -> list[StoredEvent]:
        self.reads += 1
        return super().after(position)


def test_a_catch_up_stops_at_a_batch_shorter_than_asked_for(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    follower = CountingFollower(ledger.embedded.storage.ledger, batch_size=7)
    projector = ReadModelProjector(follower, fresh_read_model("counted"))
    projector.catch_up()
    issue(ledger, issuer)
    follower.reads = 0
    projector.catch_up()
    assert follower.reads == 1


def test_a_catch_up_reads_on_after_a_full_batch(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    follower = CountingFollower(ledger.embedded.storage.ledger, batch_size=1)
    model = fresh_read_model("counted")
    projector = ReadModelProjector(follower, model)
    projector.catch_up()
    issue(ledger, issuer)
    issue(ledger, issuer, learner={**LEARNER, "identifier": "second"})
    follower.reads = 0
    projector.catch_up()
    # Each full batch of one is followed by another read; the last, empty, ends the catch-up.
    assert follower.reads >= 3
    assert model.position() == ledger.embedded.storage.ledger.recorder.max_notification_id()


def test_a_replay_of_the_log_envelopes_alone_equals_the_live_read_model(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    import json

    from consumers.envelope import StoredEnvelopes
    from consumers.projector import replay_envelopes

    busy_history(ledger, issuer)
    live = ledger.embedded.storage.read_model
    ledger.embedded.projector.catch_up()
    entries = StoredEnvelopes(ledger.embedded.storage.ledger)(0, 100_000)
    replayed = fresh_read_model("from-envelopes")
    replay_envelopes(replayed, (json.loads(entry) for _, entry in entries))
    assert replayed.digest() == live.digest()


def test_the_digest_is_of_one_snapshot_while_the_model_is_written(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    busy_history(ledger, issuer)
    live = ledger.embedded.storage.read_model
    ledger.embedded.projector.catch_up()
    before = live.digest()

    def revoke_everything() -> None:
        with live._cursor(write=True) as c:
            c.execute("UPDATE rm_credentials SET status = 'revoked'")

    def meanwhile(position: int) -> None:
        # Another connection writes between the position and the rows being read.
        writer = threading.Thread(target=revoke_everything)
        writer.start()
        writer.join()

    assert live.digest(at=meanwhile) == before
    assert live.digest() != before


def test_the_digest_read_in_pages_is_the_digest_of_every_row(
    ledger: RunningLedger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy_history(ledger, issuer)
    live = ledger.embedded.storage.read_model
    ledger.embedded.projector.catch_up()
    whole = live.digest()
    monkeypatch.setattr(read_model, "DIGEST_PAGE", 2)
    assert live.digest() == whole
    with live._cursor(write=True) as c:
        c.execute("UPDATE rm_credentials SET status = 'active' WHERE status = 'revoked'")
    assert live.digest() != whole


def running_projector(
    projector: ReadModelProjector, interval: float
) -> tuple[list[int], threading.Event, Callable[[], None]]:
    """The projector running in a thread: the positions it tells, its wake, and its stop."""
    told: list[int] = []
    stop, wake = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=projector.run, args=(stop, wake, interval, told.append), daemon=True
    )
    thread.start()

    def stopped() -> None:
        stop.set()
        wake.set()
        thread.join(timeout=10)

    return told, wake, stopped


def test_a_running_projector_tells_each_position_a_write_brings_once(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    _, projector = fresh_projection(ledger, fresh_read_model("told"))
    told, wake, stopped = running_projector(projector, interval=60)
    wait_for(lambda: len(told) == 1)
    issue(ledger, issuer)
    head = ledger.embedded.storage.ledger.recorder.max_notification_id()
    wake.set()
    wait_for(lambda: head in told)
    stopped()
    assert told.count(head) == 1


def test_an_idle_projector_tells_its_position_again_at_each_interval(
    ledger: RunningLedger, issuer: RegisteredIssuer, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    issue(ledger, issuer)
    head = ledger.embedded.storage.ledger.recorder.max_notification_id()
    _, projector = fresh_projection(ledger, fresh_read_model("idle"))
    told, _, stopped = running_projector(projector, interval=0.01)
    wait_for(lambda: told.count(head) >= 3)
    stopped()
