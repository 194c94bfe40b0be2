"""The write routes answered directly (without FastAPI's per-request machinery) answer exactly
what FastAPI answers for the same declarations: statuses, bodies, problem documents, headers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.testclient import TestClient

from ledger.api import credentials, problems, wallets
from ledger.api.app import create_app
from ledger.api.app_context import ApiContext, context
from ledger.api.body_limits import BodyLimits
from ledger.api.direct_writes import direct_routes
from ledger.settings import Settings
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, issue


def _client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def direct(ledger: RunningLedger) -> Iterator[TestClient]:
    yield from _client(create_app(ledger.embedded.api_context()))


@pytest.fixture
def by_fastapi(ledger: RunningLedger) -> Iterator[TestClient]:
    """The same routes served by FastAPI alone: what the direct routes must match."""
    ctx = ledger.embedded.api_context()
    app = FastAPI()
    app.state.context = ctx
    problems.install(app)
    app.include_router(credentials.router)
    app.include_router(wallets.router)
    app.add_middleware(BodyLimits, max_bytes=ctx.settings.max_request_bytes)
    yield from _client(app)


PATHS = [
    "/credentials",
    "/credentials/bulk",
    "/credentials/c-1/amendments",
    "/credentials/c-1/revocation",
    "/oid4vci/credential",
]
JSON = {"content-type": "application/json"}
REQUESTS: list[tuple[bytes, dict[str, str]]] = [
    (b"{not json", JSON),
    (b"\xff\xfe\xfd\xfc", JSON),  # a UTF-16 byte order mark, then no JSON
    (b'{"command": "\xc3\x28"}', JSON),  # not UTF-8
    (b"", JSON),
    (b"[]", JSON),
    (b"null", JSON),
    (b'{"command": {}}', JSON),
    (b'{"command": [], "signature": 5, "extra": true}', JSON),
    (b'{"items": [{"command": {}}]}', JSON),
    (b'{"command": {}, "signature": "0x00"}', {"content-type": "text/plain"}),
    (b'{"command": {}, "signature": "0x00"}', {}),
    (b'{"proofs": {"jwt": ["a.b.c"]}}', {**JSON, "authorization": "Bearer unknown"}),
    (b'{"proofs": {"jwt": ["a.b.c"]}}', {"content-type": "application/vnd.example+json"}),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("body", "headers"), REQUESTS)
def test_a_refused_request_gets_the_answer_fastapi_gives(
    direct: TestClient,
    by_fastapi: TestClient,
    path: str,
    body: bytes,
    headers: dict[str, str],
) -> None:
    ours = direct.post(path, content=body, headers=headers)
    theirs = by_fastapi.post(path, content=body, headers=headers)
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())
    for name in ("content-type", "cache-control", "www-authenticate", "location"):
        assert ours.headers.get(name) == theirs.headers.get(name), name


def test_an_issue_and_its_replay_answer_as_fastapi_does(
    direct: TestClient, by_fastapi: TestClient, issuer: RegisteredIssuer
) -> None:
    command = issuer.signer.issue(content(), LEARNER)
    created = direct.post("/credentials", json=command)
    assert created.status_code == 201
    assert created.headers["location"] == f"/credentials/{created.json()['credential_id']}"
    replayed = direct.post("/credentials", json=command)
    reference = by_fastapi.post("/credentials", json=command)
    assert replayed.status_code == reference.status_code == 200
    assert replayed.json() == reference.json()
    assert replayed.json()["replayed"] is True
    assert "location" not in replayed.headers


def test_a_revocation_answers_as_fastapi_does(
    ledger: RunningLedger, direct: TestClient, by_fastapi: TestClient, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    command = issuer.signer.revoke(credential_id, 1, "issued in error")
    path = f"/credentials/{credential_id}/revocation"
    first = direct.post(path, json=command)
    assert first.status_code == 200, first.text
    assert by_fastapi.post(path, json=command).json() == direct.post(path, json=command).json()


def test_a_direct_write_is_counted_under_its_route_template(
    ledger: RunningLedger, direct: TestClient, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    direct.post(f"/credentials/{credential_id}/revocation", json={"command": {}})
    metrics = direct.get("/metrics").text
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("credledger_http_requests_total{")
        and 'route="/credentials/{credential_id}/revocation"' in line
    ]
    assert counted and all(credential_id not in line for line in metrics.splitlines())


Ctx = Annotated[ApiContext, Depends(context)]


def test_an_endpoint_with_a_parameter_it_cannot_fill_is_refused_at_startup() -> None:
    router = APIRouter()

    @router.post("/things")
    def make(ctx: Ctx, page: Annotated[int, Query()] = 1) -> dict[str, Any]:
        return {}

    with pytest.raises(TypeError, match="cannot bind parameter 'page'"):
        direct_routes(router.routes, [make])


def test_a_read_route_is_not_answered_directly() -> None:
    router = APIRouter()

    @router.get("/things")
    def things(ctx: Ctx) -> dict[str, Any]:
        return {}

    with pytest.raises(TypeError, match="only POST"):
        direct_routes(router.routes, [things])


def test_a_route_that_is_not_declared_is_named() -> None:
    with pytest.raises(LookupError, match="issue"):
        direct_routes([], [credentials.issue])


class CountedPool(ThreadPoolExecutor):
    """A writers' pool that counts the writes handed to it."""

    def __init__(self) -> None:
        super().__init__(4)
        self.handed = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.handed += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def counted(ledger: RunningLedger) -> Iterator[tuple[ApiContext, CountedPool, TestClient]]:
    ctx = ledger.embedded.api_context()
    ctx.writers.shutdown()
    pool = ctx.writers = CountedPool()
    for client in _client(create_app(ctx)):
        yield ctx, pool, client
    pool.shutdown()


def one_after_another(client: TestClient, issuer: RegisteredIssuer, writes: int) -> None:
    for _ in range(writes):
        created = client.post("/credentials", json=issuer.signer.issue(content(), LEARNER))
        assert created.status_code == 201, created.text


def test_writes_one_after_another_take_no_writer_thread_but_the_first_on_the_embedded_store(
    settings: Settings,
    counted: tuple[ApiContext, CountedPool, TestClient],
    issuer: RegisteredIssuer,
) -> None:
    _, pool, client = counted
    one_after_another(client, issuer, 3)
    # The first: nothing yet says the writes come one at a time. PostgreSQL's writes (a round
    # trip, perhaps a lock wait) are never made on the event loop.
    assert pool.handed == (1 if settings.store == "sqlite" else 3)


def test_a_bulk_request_takes_a_writer_thread_even_alone(
    counted: tuple[ApiContext, CountedPool, TestClient], issuer: RegisteredIssuer
) -> None:
    _, pool, client = counted
    items = [issuer.signer.issue(content(), LEARNER)]
    for _ in range(2):
        answered = client.post("/credentials/bulk", json={"items": items})
        assert answered.status_code == 200, answered.text
    assert pool.handed == 2


def overlapping(
    ctx: ApiContext, client: TestClient, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> int:
    """A single write made while a bulk request is in flight; its status."""
    entered, release = threading.Event(), threading.Event()
    write_many = ctx.ledger.issue_many

    def held(items: Any) -> Any:
        entered.set()
        release.wait(30)
        return write_many(items)

    monkeypatch.setattr(ctx.ledger, "issue_many", held)
    bulk = {"items": [issuer.signer.issue(content(), LEARNER)]}
    first = threading.Thread(target=client.post, args=("/credentials/bulk",), kwargs={"json": bulk})
    first.start()
    try:
        assert entered.wait(30)
        single = client.post("/credentials", json=issuer.signer.issue(content(), LEARNER))
    finally:
        release.set()
        first.join(30)
    monkeypatch.setattr(ctx.ledger, "issue_many", write_many)
    return int(single.status_code)


def test_a_write_while_another_is_in_flight_takes_a_writer_thread(
    counted: tuple[ApiContext, CountedPool, TestClient],
    issuer: RegisteredIssuer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx, pool, client = counted
    one_after_another(client, issuer, 2)
    handed = pool.handed
    assert overlapping(ctx, client, issuer, monkeypatch) == 201
    assert pool.handed == handed + 2  # the bulk request's and the single write's


def test_the_first_write_after_overlapping_ones_takes_a_writer_thread(
    settings: Settings,
    counted: tuple[ApiContext, CountedPool, TestClient],
    issuer: RegisteredIssuer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if settings.store != "sqlite":
        pytest.skip("PostgreSQL's writes are never made on the event loop")
    ctx, pool, client = counted
    assert overlapping(ctx, client, issuer, monkeypatch) == 201
    handed = pool.handed
    one_after_another(client, issuer, 3)
    assert pool.handed == handed + 1
