"""Every stored event enters the transparency log once, in order; batches close with signed
checkpoints; proofs served over HTTP verify against them."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from anchors.checkpoint import NoteVerifier, verify_checkpoint
from anchors.log import TransparencyLog
from anchors.merkle import leaf_hash, reference_root, verify_consistency, verify_inclusion
from anchors.sqlite import SQLiteLogStore
from consumers.envelope import entry
from consumers.follower import NotificationFollower
from consumers.log_consumer import LogConsumer
from ledger.domain.commands import SignedCommand
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import Settings, create_secrets
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, issue

BATCH = 4


@pytest.fixture
def settings(tmp_path: Path, database: Callable[[], dict[str, Any]]) -> Settings:
    create_secrets(tmp_path / "data")
    return Settings(
        data_dir=tmp_path / "data",
        batch_size=BATCH,
        batch_age_seconds=0.3,
        chain="in-process",
        **database(),
    )


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def logged_everything(ledger: RunningLedger) -> bool:
    recorder = ledger.embedded.storage.ledger.recorder
    stored = recorder.select_notifications(start=None, limit=1_000_000)
    return ledger.embedded.storage.log.size() == len(stored)


def test_the_log_holds_one_envelope_per_stored_event_in_store_order(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    ids = [issue(ledger, issuer, learner={**LEARNER, "identifier": f"l{i}"}) for i in range(6)]
    ledger.public.revoke(issuer.signer.revoke(ids[0], 1, "withdrawn"))
    wait_for(lambda: logged_everything(ledger))
    app = ledger.embedded.storage.ledger
    stored = app.recorder.select_notifications(start=None, limit=1000)
    expected = [entry(n.id, app.mapper.to_domain_event(n)) for n in stored]
    log = ledger.embedded.storage.log
    assert log.store.entries(0, len(expected)) == expected
    assert log.root() == reference_root([leaf_hash(e) for e in expected])
    assert log.position() == stored[-1].id


def test_entries_carry_commitments_never_the_learner(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: logged_everything(ledger))
    entries = ledger.embedded.storage.log.store.entries(0, 100)
    text = b"".join(entries).decode()
    assert LEARNER["full_name"] not in text and LEARNER["identifier"] not in text
    issued = [json.loads(e) for e in entries if b'"Credential.Issued"' in e]
    assert set(issued[0]["content"]["content"]["learner"]) == {"commitment"}


def test_batches_close_by_size_and_by_age_with_signed_checkpoints(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: logged_everything(ledger))
    wait_for(lambda: ledger.embedded.storage.log.store.latest_checkpoint() is not None)
    store = ledger.embedded.storage.log.store
    wait_for(lambda: (store.latest_checkpoint() or (0,))[0] == ledger.embedded.storage.log.size())
    sizes = [size for size, _ in store.checkpoints(0, 100)]
    assert sizes == sorted(sizes)
    assert all(b - a <= BATCH for a, b in zip([0, *sizes], sizes, strict=False))
    verifier = NoteVerifier.parse(ledger.embedded.signer.verifier_key())
    for size, note in store.checkpoints(0, 100):
        checkpoint = verify_checkpoint(note, verifier, ledger.embedded.log_consumer.origin)
        assert checkpoint.size == size
        assert checkpoint.root == ledger.embedded.storage.log.root(size)


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_proofs_from_the_api_verify_against_published_checkpoints(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    for i in range(7):
        issue(ledger, issuer, learner={**LEARNER, "identifier": f"p{i}"})
    wait_for(lambda: logged_everything(ledger))
    http = httpx.Client(base_url=ledger.url)
    published = http.get("/log/key").json()
    verifier = NoteVerifier.parse(published["verifier_key"])
    wait_for(
        lambda: http.get("/log/checkpoint").json().get("size") == ledger.embedded.storage.log.size()
    )
    notes = [c["note"] for c in http.get("/log/checkpoints").json()["items"]]
    old = verify_checkpoint(notes[0], verifier, published["origin"])
    new = verify_checkpoint(notes[-1], verifier, published["origin"])
    proof = http.get(
        "/log/proof/consistency", params={"old_size": old.size, "new_size": new.size}
    ).json()
    verify_consistency(old.size, new.size, old.root, new.root, [b64(h) for h in proof["hashes"]])
    entries = http.get("/log/entries", params={"start": 0, "limit": new.size}).json()["entries"]
    for index in (0, new.size // 2, new.size - 1):
        proof = http.get("/log/proof/inclusion", params={"index": index, "size": new.size}).json()
        leaf = leaf_hash(entries[index].encode())
        assert b64(proof["leaf_hash"]) == leaf
        verify_inclusion(index, new.size, leaf, [b64(h) for h in proof["hashes"]], new.root)


def test_a_restarted_ledger_resumes_the_log_without_gaps_or_repeats(
    settings: Settings, ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    for i in range(5):
        issue(ledger, issuer, learner={**LEARNER, "identifier": f"r{i}"})
    wait_for(lambda: logged_everything(ledger))
    ledger.embedded.stop()
    with EmbeddedLedger(settings) as again:
        app = again.storage.ledger
        stored = app.recorder.select_notifications(start=None, limit=1000)
        wait_for(lambda: again.storage.log.size() == len(stored))
        expected = [entry(n.id, app.mapper.to_domain_event(n)) for n in stored]
        assert again.storage.log.store.entries(0, len(stored) + 5) == expected


def test_a_consumer_woken_from_idle_appends_the_writes_right_behind_in_one_go(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    app = ledger.embedded.storage.ledger
    log = TransparencyLog(SQLiteLogStore(tmp_path / "gathered.sqlite"))
    appends: list[int] = []
    append = log.append

    def counted(entries: Any, positions: Any) -> int:
        appends.append(len(entries))
        return append(entries, positions)

    log.append = counted  # type: ignore[method-assign]
    consumer = LogConsumer(
        NotificationFollower(app), log, ledger.embedded.signer, "gathered", 1000, 60.0, gather=5.0
    )
    stop, wake = threading.Event(), threading.Event()
    running = threading.Thread(target=consumer.run, args=(stop, wake, 60.0), daemon=True)
    running.start()
    wait_for(lambda: log.position() == app.recorder.max_notification_id())
    before = len(appends)
    wake.set()
    # Three writes while it gathers, each waking it again as the serving process does.
    for i in range(3):
        app.issue(
            SignedCommand(**issuer.signer.issue(content(), {**LEARNER, "identifier": f"g{i}"}))
        )
        wake.set()
    wait_for(lambda: log.position() == app.recorder.max_notification_id())
    stop.set()
    wake.set()
    running.join(timeout=10)
    # One append for the three (and whatever the running ledger's anchoring wrote meanwhile).
    assert len(appends[before:]) == 1
    assert appends[before] >= 3


class _Interrupted:
    """A follower during whose next read something else happens first (another process's
    consumer appending, say)."""

    def __init__(self, follower: NotificationFollower) -> None:
        self._follower = follower
        self.meanwhile: Callable[[], object] | None = None

    def after(self, position: int) -> Any:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return self._follower.after(position)

    def exhausted(self, batch: Any) -> bool:
        return self._follower.exhausted(batch)

    def commit_through(self, position: int) -> None:
        self._follower.commit_through(position)


def test_two_consumers_of_one_log_append_each_event_once_in_batches_within_the_size(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    app = ledger.embedded.storage.ledger
    store = SQLiteLogStore(tmp_path / "shared.sqlite")
    size = 8

    def write(count: int, tag: str) -> None:
        for i in range(count):
            learner = {**LEARNER, "identifier": f"{tag}-{i}"}
            app.issue(SignedCommand(**issuer.signer.issue(content(), learner)))

    # Two processes' consumers of one log, each with its own view of the log's edge.
    interrupted = _Interrupted(NotificationFollower(app))
    first = LogConsumer(
        interrupted, TransparencyLog(store), ledger.embedded.signer, "two", size, 3600.0
    )
    second = LogConsumer(
        NotificationFollower(app),
        TransparencyLog(store),
        ledger.embedded.signer,
        "two",
        size,
        3600.0,
    )
    first.catch_up()
    assert store.state()[0] <= 3  # the issuer's events
    write(3, "b")
    # While the first reads, the second appends (the open batch now holds at most 6) and more
    # is written: what the first appends next must fill only the rest of that batch.
    interrupted.meanwhile = lambda: (second.catch_up(), write(4, "c"))
    first.catch_up()
    first.close_batch()
    stored = app.recorder.select_notifications(start=None, limit=1000)
    assert store.positions(0, store.state()[0]) == [n.id for n in stored]
    sizes = [size for size, _ in store.checkpoints(0, 100)]
    assert all(0 < b - a <= size for a, b in zip([0, *sizes], sizes, strict=False))
    leaves = [leaf_hash(entry(n.id, app.mapper.to_domain_event(n))) for n in stored]
    assert TransparencyLog(store).root() == reference_root(leaves)
