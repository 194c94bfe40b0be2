"""Issue, amend, revoke: who may do what, in which order, and how often."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

import pytest

from ledger.client import LedgerRequestError
from ledger.domain.aggregates import UnboundCommand
from ledger.domain.canonical import canonical_bytes
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import AlreadyRevoked, ConcurrentWrite
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, issue, stored_events


def refused(call: Any, status: int, code: str) -> None:
    with pytest.raises(LedgerRequestError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.problem


def events(ledger: RunningLedger) -> int:
    return stored_events(ledger)


def test_an_issued_credential_is_active_with_one_version(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    found = ledger.public.status(issue(ledger, issuer))
    assert (found["status"], found["current_version"]) == ("active", 1)
    assert found["issuer_id"] == issuer.issuer_id
    assert found["versions"][0]["content"]["title"] == "Applied Machine Learning"


def test_amending_supersedes_the_previous_version(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    result = ledger.public.amend(
        issuer.signer.amend(credential_id, 1, content(title="Corrected title"), learner=LEARNER)
    )
    assert result["version"] == 2
    found = ledger.public.status(credential_id)
    assert [(v["version"], v["status"], v["superseded_by"]) for v in found["versions"]] == [
        (1, "superseded", 2),
        (2, "active", None),
    ]
    assert found["title"] == "Corrected title"


def test_an_amendment_may_keep_the_learner_commitment(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    commitment = ledger.embedded.storage.read_model.commitment_of(credential_id, 1)
    assert commitment is not None
    body = issuer.signer.amend(
        credential_id, 1, content(title="Kept learner"), commitment=commitment
    )
    assert ledger.public.amend(body)["version"] == 2


def test_revoking_needs_a_reason_and_is_recorded(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    refused(
        lambda: ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "")),
        422,
        "invalid-input",
    )
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "plagiarism"))
    found = ledger.public.status(credential_id)
    assert found["status"] == "revoked"
    assert found["revocation"]["reason"] == "plagiarism"
    assert found["versions"][-1]["status"] == "revoked"


def test_revoking_twice_is_a_conflict(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    credential_id = issue(ledger, issuer)
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "first"))
    refused(
        lambda: ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "second")),
        409,
        "already-revoked",
    )


def test_amending_after_revocation_is_a_conflict(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "withdrawn"))
    refused(
        lambda: ledger.public.amend(
            issuer.signer.amend(credential_id, 1, content(), learner=LEARNER)
        ),
        409,
        "already-revoked",
    )


def test_an_issuer_cannot_revoke_another_issuers_credential(
    ledger: RunningLedger, issuer: RegisteredIssuer, other_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, other_issuer)
    refused(
        lambda: ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "not mine")),
        403,
        "not-your-credential",
    )
    assert ledger.public.status(credential_id)["status"] == "active"


def test_an_issuer_cannot_amend_or_read_another_issuers_credential(
    ledger: RunningLedger, issuer: RegisteredIssuer, other_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, other_issuer)
    refused(
        lambda: ledger.public.amend(
            issuer.signer.amend(credential_id, 1, content(), learner=LEARNER)
        ),
        403,
        "not-your-credential",
    )
    refused(
        lambda: ledger.public.personal_data(issuer.signer.read_personal_data(credential_id)),
        403,
        "not-your-credential",
    )


def test_unknown_credentials_are_404(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    refused(lambda: ledger.public.status(missing), 404, "not-found")
    refused(lambda: ledger.public.revoke(issuer.signer.revoke(missing, 1, "x")), 404, "not-found")


def test_two_concurrent_revocations_exactly_one_wins(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    app = ledger.embedded.storage.ledger
    bodies = [SignedCommand(**issuer.signer.revoke(credential_id, 1, f"r{i}")) for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def revoke(body: SignedCommand) -> None:
        barrier.wait()
        try:
            outcomes.append(app.revoke(body))
        except (AlreadyRevoked, ConcurrentWrite) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=revoke, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    revocations = [
        e
        for e in app.repository.event_store.get(__import__("uuid").UUID(credential_id))
        if type(e).__name__ == "Revoked"
    ]
    assert len(revocations) == 1


def test_concurrent_revocations_over_http_give_one_success_and_one_409(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    bodies = [issuer.signer.revoke(credential_id, 1, f"reason {i}") for i in range(8)]
    statuses: list[int] = []

    def send(body: dict[str, Any]) -> None:
        response = ledger.public._http.post(f"/credentials/{credential_id}/revocation", json=body)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 7


def test_a_repeated_command_returns_the_first_result_and_writes_nothing(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    same = content()
    first = ledger.public.issue(issuer.signer.issue(same, LEARNER, command_id="enrolment-2026-17"))
    after_first = events(ledger)
    again = ledger.public.issue(issuer.signer.issue(same, LEARNER, command_id="enrolment-2026-17"))
    assert events(ledger) == after_first
    assert again == {**first, "replayed": True}


def test_a_repeated_command_is_found_by_a_single_attempt_to_write_it(
    ledger: RunningLedger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a learner's key erased meanwhile is worth sealing the data again and writing once
    # more for; a command already written would fail the same way twice.
    body = issuer.signer.issue(content(), LEARNER, command_id="enrolment-2026-18")
    ledger.public.issue(body)
    store = ledger.embedded.storage.ledger.events
    put, attempts = store.put, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        return put(*args, **kwargs)

    monkeypatch.setattr(store, "put", counted)
    assert ledger.public.issue(body)["replayed"] is True
    assert len(attempts) == 1


def test_a_repeated_revocation_returns_the_first_result(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    body = issuer.signer.revoke(credential_id, 1, "withdrawn", command_id="revoke-1")
    first = ledger.public.revoke(body)
    after_first = events(ledger)
    assert ledger.public.revoke(body) == {**first, "replayed": True}
    assert events(ledger) == after_first


def test_a_command_id_reused_for_different_content_is_a_conflict(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    ledger.public.issue(issuer.signer.issue(content(), LEARNER, command_id="dup"))
    refused(
        lambda: ledger.public.issue(
            issuer.signer.issue(content(title="Other"), LEARNER, command_id="dup")
        ),
        409,
        "command-id-reused",
    )


def test_a_command_id_is_one_namespace_across_command_types(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    ledger.public.issue(issuer.signer.issue(content(), LEARNER, command_id="shared-id"))
    before = events(ledger)
    refused(
        lambda: ledger.public.revoke(
            issuer.signer.revoke(credential_id, 1, "withdrawn", command_id="shared-id")
        ),
        409,
        "command-id-reused",
    )
    assert events(ledger) == before


def test_an_issue_may_not_take_the_command_id_of_another_command(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "withdrawn", command_id="r-7"))
    before = events(ledger)
    refused(
        lambda: ledger.public.issue(issuer.signer.issue(content(), LEARNER, command_id="r-7")),
        409,
        "command-id-reused",
    )
    assert events(ledger) == before


@pytest.mark.parametrize("kind", ["amend", "revoke", "erase"])
def test_a_command_for_a_version_that_is_not_the_current_one_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer, kind: str
) -> None:
    credential_id = issue(ledger, issuer)
    ledger.public.amend(
        issuer.signer.amend(credential_id, 1, content(title="Second"), learner=LEARNER)
    )
    stale = {
        "amend": lambda: ledger.public.amend(
            issuer.signer.amend(credential_id, 1, content(title="Third"), learner=LEARNER)
        ),
        "revoke": lambda: ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "x")),
        "erase": lambda: ledger.public.erase(issuer.signer.erase(credential_id, 1)),
    }[kind]
    before = events(ledger)
    with pytest.raises(LedgerRequestError) as caught:
        stale()
    assert (caught.value.status, caught.value.code) == (409, "version-mismatch")
    assert caught.value.problem["current_version"] == 2
    assert events(ledger) == before


def test_a_command_without_the_version_it_acts_on_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    body = issuer.signer.revoke(credential_id, 1, "withdrawn")
    del body["command"]["version"]
    body["signature"] = issuer.key.sign(canonical_bytes(body["command"]))
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.revoke(body)
    assert caught.value.problem["errors"][0]["field"] == "command.version"


def test_the_domain_refuses_a_command_recorded_on_another_credential(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    first, second = issue(ledger, issuer), issue(ledger, issuer)
    application = ledger.embedded.storage.ledger
    target: Any = application.repository.get(UUID(second))
    body = issuer.signer.revoke(first, 1, "withdrawn")
    with pytest.raises(UnboundCommand):
        target.revoke(command=body["command"], signature=body["signature"])


def test_bulk_issue_reports_each_item_and_keeps_the_good_ones(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    good = [issuer.signer.issue(content(), {**LEARNER, "identifier": f"s{i}"}) for i in range(5)]
    bad = issuer.signer.issue(content(eqf_level="http://data.europa.eu/snb/eqf/12"), LEARNER)
    results = ledger.public.bulk_issue([*good[:2], bad, *good[2:]])
    assert [r["ok"] for r in results] == [True, True, False, True, True, True]
    assert results[2]["problem"]["errors"][0]["field"] == "command.content.eqf_level"
    for result in results:
        if result["ok"]:
            assert ledger.public.status(result["result"]["credential_id"])["status"] == "active"


def test_a_retried_bulk_request_issues_nothing_twice(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    bodies = [
        issuer.signer.issue(content(), {**LEARNER, "identifier": f"s{i}"}, command_id=f"b{i}")
        for i in range(4)
    ]
    ledger.public.bulk_issue(bodies[:2])
    before = events(ledger)
    results = ledger.public.bulk_issue(bodies)
    assert [r["result"]["replayed"] for r in results] == [True, True, False, False]
    assert events(ledger) == before + 2
