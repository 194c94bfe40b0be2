"""An issue, one or in bulk, is decided first on the issuer as the process last read it.

Reading the issuer again from the store before every issue is a read transaction on the path
of every single write. The write is conditional on the issuer still being at the version the
decision rested on, so a process may decide on the issuer it holds: if that is stale (the
issuer's key was rotated, or it was suspended, since), the write fails and the command is
decided again on the issuer as the store has it. A refusal writes nothing, so a refusal decided
on the held issuer is decided again too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger.application.service import CommandResult, Ledger
from ledger.client import CommandSigner
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import IssuerSuspended, LedgerError, SignatureInvalid
from ledger.domain.signing import IssuerKey
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content


def application(ledger: RunningLedger) -> Ledger:
    return ledger.embedded.storage.ledger


def signed(signer: CommandSigner, identifier: str) -> SignedCommand:
    body = signer.issue(content(), {**LEARNER, "identifier": identifier})
    return SignedCommand.model_validate(body)


@pytest.fixture
def held(ledger: RunningLedger, issuer: RegisteredIssuer) -> Ledger:
    """The ledger application, holding the issuer since it issued a first credential."""
    app = application(ledger)
    app.issue(signed(issuer.signer, "first"))
    return app


def credential_events(ledger: RunningLedger) -> int:
    notifications = application(ledger).recorder.select_notifications(start=None, limit=10**6)
    return sum("Credential" in n.topic for n in notifications)


@pytest.fixture
def store_reads(held: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The aggregates the held ledger reads from its event store from now on."""
    reads: list[Any] = []
    read = held.repository.event_store.get

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs.get("originator_id", args[0] if args else None))
        return read(*args, **kwargs)

    monkeypatch.setattr(held.repository.event_store, "get", counted)
    return reads


Outcome = CommandResult | LedgerError
# Issues commands signed by a signer, one request each or in one bulk request; their outcomes.
Issuing = Callable[[Ledger, CommandSigner], list[Outcome]]


def one_request(app: Ledger, signer: CommandSigner) -> list[Outcome]:
    try:
        return [app.issue(signed(signer, "second"))]
    except LedgerError as refused:
        return [refused]


def bulk_request(app: Ledger, signer: CommandSigner) -> list[Outcome]:
    return app.issue_many([signed(signer, f"bulk-{i}") for i in range(3)])


@pytest.fixture(params=[one_request, bulk_request], ids=["one", "bulk"])
def issuing(request: pytest.FixtureRequest) -> Issuing:
    """An issue of one credential, or a bulk request of three."""
    way: Issuing = request.param
    return way


def written(outcomes: list[Outcome]) -> list[tuple[str, bool]]:
    return [
        (o.status, o.replayed) if isinstance(o, CommandResult) else (type(o).__name__, False)
        for o in outcomes
    ]


def test_an_issue_reads_nothing_of_its_issuer_from_the_store_once_the_issuer_is_held(
    held: Ledger, issuer: RegisteredIssuer, store_reads: list[Any], issuing: Issuing
) -> None:
    outcomes = issuing(held, issuer.signer)
    assert written(outcomes) == [("active", False)] * len(outcomes)
    assert store_reads == []


def test_an_issue_signed_with_a_key_rotated_away_since_the_issuer_was_held_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger, issuing: Issuing
) -> None:
    old = CommandSigner(issuer.key, issuer.issuer_id)
    ledger.public.rotate_key(issuer.signer.rotate_key(IssuerKey.generate()))
    outcomes = issuing(held, old)
    assert [type(o) for o in outcomes] == [SignatureInvalid] * len(outcomes)
    assert credential_events(ledger) == 1


def test_an_issue_signed_with_the_key_rotated_in_since_the_issuer_was_held_is_written(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger, issuing: Issuing
) -> None:
    new_key = IssuerKey.generate()
    ledger.public.rotate_key(issuer.signer.rotate_key(new_key))
    outcomes = issuing(held, CommandSigner(new_key, issuer.issuer_id))
    assert written(outcomes) == [("active", False)] * len(outcomes)
    assert credential_events(ledger) == 1 + len(outcomes)


def test_an_issue_after_its_held_issuer_was_suspended_is_refused_and_not_written(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger, issuing: Issuing
) -> None:
    ledger.admin.suspend_issuer(issuer.issuer_id, "audit")
    outcomes = issuing(held, issuer.signer)
    assert [type(o) for o in outcomes] == [IssuerSuspended] * len(outcomes)
    assert credential_events(ledger) == 1


def test_an_issue_after_its_held_issuer_was_suspended_and_reinstated_is_written(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger, issuing: Issuing
) -> None:
    ledger.admin.suspend_issuer(issuer.issuer_id, "audit")
    ledger.admin.reinstate_issuer(issuer.issuer_id, "audit passed")
    outcomes = issuing(held, issuer.signer)
    assert written(outcomes) == [("active", False)] * len(outcomes)
    assert credential_events(ledger) == 1 + len(outcomes)


def test_an_issue_after_its_held_issuer_was_reinstated_is_written(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    app = application(ledger)
    ledger.admin.suspend_issuer(issuer.issuer_id, "audit")
    with pytest.raises(IssuerSuspended):
        app.issue(signed(issuer.signer, "first"))
    ledger.admin.reinstate_issuer(issuer.issuer_id, "audit passed")
    result = app.issue(signed(issuer.signer, "second"))
    assert (result.status, result.replayed) == ("active", False)
    assert credential_events(ledger) == 1
