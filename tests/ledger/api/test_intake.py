"""The intake gate: issuer commands are held, then refused with 503 and Retry-After, and not
stored, while the consumers trail the event store by more than the limit; they are taken again
once the consumers catch up (within the hold, the held command itself), and the issuer's
client sends a refused one again by itself."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consumers.anchor_consumer import AnchorConsumer
from ledger.api.intake import HOLD_STEP_SECONDS, SAMPLE_SECONDS, IntakeGate
from ledger.client import LedgerClient, LedgerRequestError
from ledger.domain.errors import IntakePaused
from ledger.settings import Settings, create_secrets
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    issue,
    stored_events,
    wait_for,
)

LIMIT = 2


@pytest.fixture
def hold() -> float:
    """Refused at once, unless a test holds commands (parametrized ``hold``)."""
    return 0.0


@pytest.fixture
def settings(tmp_path: Path, database: Callable[[], dict[str, Any]], hold: float) -> Settings:
    create_secrets(tmp_path / "data")
    return Settings(
        data_dir=tmp_path / "data",
        chain="in-process",
        batch_age_seconds=0.5,
        intake_max_backlog_events=LIMIT,
        intake_hold_seconds=hold,
        **database(),
    )


class HeldLog:
    """The running ledger's log consumer, held before its next catch-up until released."""

    def __init__(self, ledger: RunningLedger, monkeypatch: pytest.MonkeyPatch) -> None:
        storage = ledger.embedded.storage
        wait_for(lambda: storage.log.position() == storage.ledger.recorder.max_notification_id())
        consumer = ledger.embedded.log_consumer
        self.released = threading.Event()
        catch_up = consumer.catch_up

        def held() -> Any:
            self.released.wait()
            return catch_up()

        monkeypatch.setattr(consumer, "catch_up", held)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def held_log(
    ledger: RunningLedger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HeldLog]:
    held = HeldLog(ledger, monkeypatch)
    try:
        yield held
    finally:
        held.release()


def _behind_the_limit(ledger: RunningLedger, issuer: RegisteredIssuer) -> list[str]:
    """Issue one more credential than the limit allows behind, and let the gate look again."""
    ids = [
        issue(ledger, issuer, learner={**LEARNER, "identifier": f"intake-{n}"})
        for n in range(LIMIT + 1)
    ]
    time.sleep(SAMPLE_SECONDS * 2)
    return ids


def _post(ledger: RunningLedger, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{ledger.url}{path}", json=body, timeout=30)


# At once, and after a hold the log does not catch up within.
@pytest.mark.parametrize("hold", [0.0, 0.3])
def test_an_issue_is_refused_with_retry_after_and_not_stored_while_the_log_trails(
    ledger: RunningLedger, issuer: RegisteredIssuer, held_log: HeldLog
) -> None:
    _behind_the_limit(ledger, issuer)
    before = stored_events(ledger)
    refused = _post(ledger, "/credentials", issuer.signer.issue(content(), LEARNER))
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "intake-paused"
    assert problem["allowed_events"] == LIMIT
    assert problem["backlog_events"] > LIMIT
    assert stored_events(ledger) == before


def _counted(ledger: RunningLedger, series: str) -> float:
    for line in httpx.get(f"{ledger.url}/metrics").text.splitlines():
        if line.startswith(f"{series} "):
            return float(line.split()[1])
    return 0.0


def _paused_total(ledger: RunningLedger) -> float:
    return _counted(ledger, "credledger_intake_paused_total")


def test_each_paused_request_is_counted_for_the_operator(
    ledger: RunningLedger, issuer: RegisteredIssuer, held_log: HeldLog
) -> None:
    _behind_the_limit(ledger, issuer)
    before = _paused_total(ledger)
    for _ in range(2):
        _post(ledger, "/credentials", issuer.signer.issue(content(), LEARNER))
    assert _paused_total(ledger) == before + 2


def test_the_refused_command_is_taken_as_it_is_once_the_log_catches_up(
    ledger: RunningLedger, issuer: RegisteredIssuer, held_log: HeldLog
) -> None:
    _behind_the_limit(ledger, issuer)
    body = issuer.signer.issue(content(), LEARNER)
    assert _post(ledger, "/credentials", body).status_code == 503
    held_log.release()
    answers: list[httpx.Response] = []
    wait_for(
        lambda: (
            answers.append(_post(ledger, "/credentials", body)) or answers[-1].status_code != 503
        )
    )
    assert answers[-1].status_code == 201


@pytest.mark.parametrize("hold", [30.0])
def test_an_issue_held_while_the_log_trails_is_stored_once_the_log_catches_up(
    ledger: RunningLedger, issuer: RegisteredIssuer, held_log: HeldLog
) -> None:
    _behind_the_limit(ledger, issuer)
    paused, held = _paused_total(ledger), _counted(ledger, "credledger_intake_held_total")
    meanwhile: list[int] = []

    def ask_then_release() -> None:
        # While the issue is held, the process answers other requests.
        try:
            meanwhile.append(httpx.get(f"{ledger.url}/health/live", timeout=5).status_code)
        finally:
            held_log.release()

    releasing = threading.Timer(0.5, ask_then_release)
    releasing.start()
    answer = _post(ledger, "/credentials", issuer.signer.issue(content(), LEARNER))
    releasing.join()
    assert answer.status_code == 201
    assert meanwhile == [200]
    assert _paused_total(ledger) == paused
    assert _counted(ledger, "credledger_intake_held_total") == held + 1


def test_bulk_amend_and_revoke_are_paused_too(
    ledger: RunningLedger, issuer: RegisteredIssuer, held_log: HeldLog
) -> None:
    first = _behind_the_limit(ledger, issuer)[0]
    signer = issuer.signer
    paused = [
        _post(ledger, "/credentials/bulk", {"items": [signer.issue(content(), LEARNER)]}),
        _post(
            ledger,
            f"/credentials/{first}/amendments",
            signer.amend(first, 1, content(title="Renamed"), LEARNER),
        ),
        _post(ledger, f"/credentials/{first}/revocation", signer.revoke(first, 1, "withdrawn")),
    ]
    assert [answer.json()["code"] for answer in paused] == ["intake-paused"] * 3


def test_a_learners_erasure_is_never_held_behind_the_intake(
    ledger: RunningLedger, issuer: RegisteredIssuer, held_log: HeldLog
) -> None:
    first = _behind_the_limit(ledger, issuer)[0]
    erased = _post(ledger, f"/credentials/{first}/erasure", issuer.signer.erase(first, 1))
    assert erased.status_code == 200


def test_the_hashing_backlog_anchoring_records_counts_against_the_intake(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger))  # the anchoring has recorded its own figure
    anchors = ledger.embedded.storage.anchors
    anchors.set_hashing_backlog(LIMIT + 1)
    assert anchors.hashing_backlog() == LIMIT + 1
    time.sleep(SAMPLE_SECONDS * 2)
    refused = _post(ledger, "/credentials", issuer.signer.issue(content(), LEARNER))
    assert refused.json()["code"] == "intake-paused"


def test_anchoring_started_again_replaces_the_figure_its_predecessor_left(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    issue(ledger, issuer)
    wait_for(lambda: anchored_everything(ledger))
    storage = ledger.embedded.storage
    storage.anchors.set_hashing_backlog(99)  # left by a consumer that stopped mid-batch
    restarted = AnchorConsumer(
        storage.log,
        ledger.embedded.anchorer,
        storage.ledger,
        ledger.embedded.settings.log_origin_value(),
    )
    restarted.step()
    assert storage.anchors.hashing_backlog() == 0


class Backlog:
    """A backlog that is what the test says, counting how often it is asked."""

    def __init__(self) -> None:
        self.value = 0
        self.asked = 0

    def __call__(self) -> int:
        self.asked += 1
        return self.value


def test_the_gate_asks_the_stores_at_most_every_sample_interval() -> None:
    backlog, now = Backlog(), [100.0]
    gate = IntakeGate(10, backlog, clock=lambda: now[0])
    for _ in range(50):
        gate.admit()
    backlog.value = 11
    gate.admit()  # the last sample still says 0
    now[0] += SAMPLE_SECONDS
    with pytest.raises(IntakePaused) as refused:
        gate.admit()
    assert backlog.asked == 2
    assert refused.value.retry_after >= 1


class Clock:
    """A clock that moves only when the gate sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Draining(Backlog):
    """A backlog over the limit until it has been asked ``asks`` times."""

    def __init__(self, over: int, asks: int) -> None:
        super().__init__()
        self.over, self.asks = over, asks

    def __call__(self) -> int:
        super().__call__()
        return self.over if self.asked < self.asks else 0


def test_a_held_command_is_admitted_once_the_backlog_falls_back_within_the_hold() -> None:
    clock, backlog = Clock(), Draining(11, asks=4)
    gate = IntakeGate(10, backlog, hold=1.0, clock=clock, sleep=clock.sleep)
    gate.admit()
    assert clock.slept == [HOLD_STEP_SECONDS] * 3


def test_a_held_command_asks_the_stores_again_every_hold_step() -> None:
    clock, backlog = Clock(), Draining(11, asks=10**9)
    gate = IntakeGate(10, backlog, hold=1.0, clock=clock, sleep=clock.sleep)
    with pytest.raises(IntakePaused):
        gate.admit()
    steps = [seconds for seconds in clock.slept if seconds == HOLD_STEP_SECONDS]
    assert len(steps) >= 19
    assert backlog.asked == 1 + len(steps)
    assert max(clock.slept) <= HOLD_STEP_SECONDS


def test_a_backlog_that_outlasts_the_hold_is_refused_after_the_hold() -> None:
    clock, backlog = Clock(), Draining(11, asks=10**9)
    gate = IntakeGate(10, backlog, hold=0.12, clock=clock, sleep=clock.sleep)
    with pytest.raises(IntakePaused) as refused:
        gate.admit()
    assert sum(clock.slept) == pytest.approx(0.12)
    assert refused.value.retry_after >= 1


def test_a_gate_without_a_hold_refuses_at_once() -> None:
    clock, backlog = Clock(), Draining(11, asks=10**9)
    gate = IntakeGate(10, backlog, clock=clock, sleep=clock.sleep)
    with pytest.raises(IntakePaused):
        gate.admit()
    assert clock.slept == []


def test_a_gate_on_an_event_loop_refuses_at_once_rather_than_stall_the_loop() -> None:
    clock, backlog = Clock(), Draining(11, asks=10**9)
    gate = IntakeGate(10, backlog, hold=1.0, clock=clock, sleep=clock.sleep)

    async def write_on_the_loop() -> None:
        gate.admit()

    with pytest.raises(IntakePaused):
        asyncio.run(write_on_the_loop())
    assert clock.slept == []


def test_a_gate_with_no_limit_never_asks_the_stores() -> None:
    backlog = Backlog()
    backlog.value = 10**9
    gate = IntakeGate(0, backlog)
    gate.admit()
    assert backlog.asked == 0


def _paused(retry_after: str = "1", code: str = "intake-paused") -> httpx.Response:
    problem = {"status": 503, "code": code, "detail": "paused"}
    return httpx.Response(503, json=problem, headers={"Retry-After": retry_after})


def _client(answers: list[httpx.Response], slept: list[float], patience: float) -> LedgerClient:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers.pop(0)

    http = httpx.Client(base_url="http://ledger.test", transport=httpx.MockTransport(answer))
    return LedgerClient(
        "http://ledger.test", http=http, intake_patience=patience, sleep=slept.append
    )


def test_the_client_sends_a_paused_command_again_after_retry_after() -> None:
    slept: list[float] = []
    answers = [_paused("1"), _paused("2"), httpx.Response(201, json={"credential_id": "c"})]
    with _client(answers, slept, patience=60) as client:
        assert client.issue({"command": {}}) == {"credential_id": "c"}
    assert slept == [1.0, 2.0]


def test_the_client_gives_up_after_its_patience() -> None:
    slept: list[float] = []
    client = _client([_paused("2"), _paused("2"), _paused("2")], slept, patience=3)
    with client, pytest.raises(LedgerRequestError) as refused:
        client.issue({"command": {}})
    assert refused.value.code == "intake-paused"
    assert slept == [2.0]


def test_the_client_does_not_resend_on_other_unavailability() -> None:
    slept: list[float] = []
    client = _client([_paused(code="unavailable")], slept, patience=60)
    with client, pytest.raises(LedgerRequestError):
        client.issue({"command": {}})
    assert slept == []
