"""A command is written only if its issuer is still as the decision read it.

Between the check of a command's signature and the write of its events, the issuer's key may
be rotated or the issuer suspended. Written anyway, the events would come after that change
in the store's order, where the audit checks them against the new key or the suspension and
refuses them. The ledger decides such a command again instead, on the issuer as it now stands.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ledger.application.service import Ledger
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import IssuerSuspended, SignatureInvalid
from ledger.domain.signing import IssuerKey
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, issue


@pytest.fixture
def application(ledger: RunningLedger) -> Ledger:
    return ledger.embedded.storage.ledger


@pytest.fixture
def change_before_the_write(
    application: Ledger, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Callable[[], object]], None]]:
    """``change`` made, in another request, after the next command is decided and before
    its events are written."""
    changes: list[Callable[[], object]] = []
    put = application._put

    def change_then_put(events: list[Any], **kwargs: Any) -> None:
        if changes:
            worker = threading.Thread(target=changes.pop())
            worker.start()
            worker.join()
        put(events, **kwargs)

    monkeypatch.setattr(application, "_put", change_then_put)
    yield changes.append


def signed(body: dict[str, Any]) -> SignedCommand:
    return SignedCommand.model_validate(body)


def credential_events(application: Ledger) -> list[str]:
    notifications = application.recorder.select_notifications(start=None, limit=1_000_000)
    return [n.topic for n in notifications if "Credential" in n.topic]


def test_an_issue_signed_with_a_key_rotated_meanwhile_is_refused_and_not_written(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    application: Ledger,
    change_before_the_write: Callable[[Callable[[], object]], None],
) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    change_before_the_write(
        lambda: ledger.public.rotate_key(issuer.signer.rotate_key(IssuerKey.generate()))
    )
    with pytest.raises(SignatureInvalid):
        application.issue(signed(body))
    assert credential_events(application) == []


def test_an_issue_decided_before_its_issuer_was_suspended_is_refused_and_not_written(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    application: Ledger,
    change_before_the_write: Callable[[Callable[[], object]], None],
) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    change_before_the_write(lambda: ledger.admin.suspend_issuer(issuer.issuer_id, "audit"))
    with pytest.raises(IssuerSuspended):
        application.issue(signed(body))
    assert credential_events(application) == []


def test_an_issue_whose_issuer_changed_but_still_stands_is_decided_again_and_written(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    application: Ledger,
    change_before_the_write: Callable[[Callable[[], object]], None],
) -> None:
    body = issuer.signer.issue(content(), LEARNER)

    def suspend_and_reinstate() -> None:
        ledger.admin.suspend_issuer(issuer.issuer_id, "audit")
        ledger.admin.reinstate_issuer(issuer.issuer_id, "audit passed")

    change_before_the_write(suspend_and_reinstate)
    result = application.issue(signed(body))
    assert (result.status, result.replayed) == ("active", False)
    assert len(credential_events(application)) == 1


def test_a_bulk_issue_signed_with_a_key_rotated_meanwhile_refuses_every_item(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    application: Ledger,
    change_before_the_write: Callable[[Callable[[], object]], None],
) -> None:
    bodies = [
        signed(issuer.signer.issue(content(), {**LEARNER, "identifier": f"l{i}"})) for i in range(3)
    ]
    change_before_the_write(
        lambda: ledger.public.rotate_key(issuer.signer.rotate_key(IssuerKey.generate()))
    )
    outcomes = application.issue_many(bodies)
    assert [type(o) for o in outcomes] == [SignatureInvalid] * 3
    assert credential_events(application) == []


def test_an_amendment_signed_with_a_key_rotated_meanwhile_is_refused_and_not_written(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    application: Ledger,
    change_before_the_write: Callable[[Callable[[], object]], None],
) -> None:
    credential_id = issue(ledger, issuer)
    body = issuer.signer.amend(credential_id, 1, content(title="v2"), learner=LEARNER)
    change_before_the_write(
        lambda: ledger.public.rotate_key(issuer.signer.rotate_key(IssuerKey.generate()))
    )
    with pytest.raises(SignatureInvalid):
        application.amend(signed(body))
    assert len(credential_events(application)) == 1
