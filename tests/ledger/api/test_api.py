"""The HTTP surface: problem documents for every error, size limits, paging, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    content,
    issue,
    stored_events,
)


@pytest.fixture
def http(ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ledger.url, timeout=30) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"] and str(body["type"]).endswith(code)
    return dict(body)


def test_malformed_json_is_a_400_problem(http: httpx.Client) -> None:
    response = http.post(
        "/credentials", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed-request")


def test_an_envelope_without_signature_names_the_field(http: httpx.Client) -> None:
    response = http.post("/credentials", json={"command": {}})
    body = assert_problem(response, 422, "invalid-input")
    assert body["errors"] == [{"field": "signature", "rule": "missing", "message": "is required"}]


def test_an_oversized_body_is_a_413_problem(http: httpx.Client) -> None:
    response = http.post("/credentials", content=b"x" * 2_000_000)
    assert_problem(response, 413, "too-large")


def test_an_oversized_streamed_body_is_a_413_problem(http: httpx.Client) -> None:
    def chunks() -> object:
        for _ in range(40):
            yield b"x" * 65536

    response = http.post(
        "/credentials", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "too-large")


def test_too_many_bulk_items_is_a_413_problem(
    ledger: RunningLedger, http: httpx.Client, issuer: RegisteredIssuer
) -> None:
    ledger.embedded.settings.max_bulk_items = 3
    items = [issuer.signer.issue(content(), LEARNER) for _ in range(4)]
    assert_problem(http.post("/credentials/bulk", json={"items": items}), 413, "too-large")


def test_a_bulk_answer_is_json_with_each_items_outcome_in_order(
    http: httpx.Client, issuer: RegisteredIssuer
) -> None:
    good = issuer.signer.issue(content(), LEARNER)
    unsigned = {**issuer.signer.issue(content(), LEARNER), "signature": "0x00"}
    answer = http.post("/credentials/bulk", json={"items": [good, unsigned]})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["succeeded"], body["failed"]) == (1, 1)
    assert [r["ok"] for r in body["results"]] == [True, False]
    assert body["results"][0]["result"]["command_id"] == good["command"]["command_id"]
    assert "signature" in body["results"][1]["problem"]["detail"]


def test_unknown_routes_are_404_problems(http: httpx.Client) -> None:
    assert_problem(http.get("/nowhere"), 404, "not-found")


def test_a_command_for_another_credential_than_the_url_is_refused(
    ledger: RunningLedger, http: httpx.Client, issuer: RegisteredIssuer
) -> None:
    first, second = issue(ledger, issuer), issue(ledger, issuer)
    body = issuer.signer.revoke(first, 1, "x")
    response = http.post(f"/credentials/{second}/revocation", json=body)
    problem = assert_problem(response, 422, "invalid-input")
    assert problem["errors"] == [
        {
            "field": "command.credential_id",
            "rule": "path-mismatch",
            "message": "must be the credential_id in the URL",
        }
    ]


def test_a_command_too_large_for_its_log_entry_is_refused_and_nothing_is_stored(
    ledger: RunningLedger, http: httpx.Client, issuer: RegisteredIssuer
) -> None:
    # Within every field's own limit, but over the 65,535 bytes a log entry can hold.
    outcomes = [{"text": f"{i} " + "Outcome text. " * 135} for i in range(40)]
    body = issuer.signer.issue(content(learning_outcomes=outcomes), LEARNER)
    before = stored_events(ledger)
    problem = assert_problem(http.post("/credentials", json=body), 422, "invalid-input")
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("command", "too-large")]
    assert "60,000" in problem["errors"][0]["message"]
    assert stored_events(ledger) == before


def test_issue_answers_201_with_location(http: httpx.Client, issuer: RegisteredIssuer) -> None:
    response = http.post("/credentials", json=issuer.signer.issue(content(), LEARNER))
    assert response.status_code == 201
    assert response.headers["location"] == f"/credentials/{response.json()['credential_id']}"


def test_credentials_are_listed_in_pages(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    issued = sorted(issue(ledger, issuer) for _ in range(5))
    seen, after = [], None
    while True:
        page = ledger.public.credentials(
            issuer_id=issuer.issuer_id, limit=2, **({"after": after} if after else {})
        )
        seen += [item["credential_id"] for item in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == issued


def test_credentials_can_be_filtered_by_status(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    kept, revoked = issue(ledger, issuer), issue(ledger, issuer)
    ledger.public.revoke(issuer.signer.revoke(revoked, 1, "x"))
    page = ledger.public.credentials(status="revoked")
    assert [item["credential_id"] for item in page["items"]] == [revoked]
    assert kept not in [item["credential_id"] for item in page["items"]]


def test_the_openapi_document_lists_every_command(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/credentials",
        "/credentials/bulk",
        "/credentials/{credential_id}/amendments",
        "/credentials/{credential_id}/revocation",
        "/credentials/{credential_id}/erasure",
        "/issuers",
        "/issuers/{issuer_id}/keys",
    ):
        assert path in paths
    assert http.get("/docs").status_code == 200


def test_the_issuer_register_over_time_is_published_in_log_order(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    ledger.admin.suspend_issuer(issuer.issuer_id, "review")
    ledger.admin.reinstate_issuer(issuer.issuer_id, "cleared")
    page = ledger.public._call("GET", "/issuers/history")
    events = [(item["issuer_id"], item["event"]) for item in page["items"]]
    assert events == [
        (issuer.issuer_id, "registered"),
        (issuer.issuer_id, "suspended"),
        (issuer.issuer_id, "active"),
    ]
    positions = [item["position"] for item in page["items"]]
    assert positions == sorted(positions)
