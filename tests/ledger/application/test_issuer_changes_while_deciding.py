"""A command is written only if its issuer is still as the decision read it.

Between the check of a command's signature and the write of its events, the issuer's key may
be rotated or the issuer suspended. Written anyway, the events would come after that change
in the store's order, where the audit checks them against the new key or the suspension and
refuses them. The ledger decides such a command again instead, on the issuer as it now stands.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ledger.application.service import Ledger
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import IssuerSuspended, SignatureInvalid
from ledger.domain.signing import IssuerKey
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, issue


@dataclass
class Deciding:
    """A running ledger, a registered issuer, and changes to make to that issuer, in another
    request, after the next command is decided and before its events are written."""

    ledger: RunningLedger
    issuer: RegisteredIssuer
    application: Ledger
    changes: list[Callable[[], object]] = field(default_factory=list)

    def before_the_write(self, change: Callable[[], object]) -> None:
        self.changes.append(change)

    def key_rotated_before_the_write(self) -> None:
        self.before_the_write(
            lambda: self.ledger.public.rotate_key(
                self.issuer.signer.rotate_key(IssuerKey.generate())
            )
        )

    def credential_events(self) -> list[str]:
        recorder = self.application.recorder
        notifications = recorder.select_notifications(start=None, limit=1_000_000)
        return [n.topic for n in notifications if "Credential" in n.topic]


@pytest.fixture
def deciding(
    ledger: RunningLedger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deciding]:
    application = ledger.embedded.storage.ledger
    deciding = Deciding(ledger, issuer, application)
    put = application._put

    def change_then_put(events: list[Any], **kwargs: Any) -> None:
        if deciding.changes:
            worker = threading.Thread(target=deciding.changes.pop())
            worker.start()
            worker.join()
        put(events, **kwargs)

    monkeypatch.setattr(application, "_put", change_then_put)
    yield deciding


def signed(body: dict[str, Any]) -> SignedCommand:
    return SignedCommand.model_validate(body)


def test_an_issue_signed_with_a_key_rotated_meanwhile_is_refused_and_not_written(
    deciding: Deciding,
) -> None:
    body = deciding.issuer.signer.issue(content(), LEARNER)
    deciding.key_rotated_before_the_write()
    with pytest.raises(SignatureInvalid):
        deciding.application.issue(signed(body))
    assert deciding.credential_events() == []


def test_an_issue_decided_before_its_issuer_was_suspended_is_refused_and_not_written(
    deciding: Deciding,
) -> None:
    body = deciding.issuer.signer.issue(content(), LEARNER)
    admin, issuer_id = deciding.ledger.admin, deciding.issuer.issuer_id
    deciding.before_the_write(lambda: admin.suspend_issuer(issuer_id, "audit"))
    with pytest.raises(IssuerSuspended):
        deciding.application.issue(signed(body))
    assert deciding.credential_events() == []


def test_an_issue_whose_issuer_changed_but_still_stands_is_decided_again_and_written(
    deciding: Deciding,
) -> None:
    body = deciding.issuer.signer.issue(content(), LEARNER)
    admin, issuer_id = deciding.ledger.admin, deciding.issuer.issuer_id

    def suspend_and_reinstate() -> None:
        admin.suspend_issuer(issuer_id, "audit")
        admin.reinstate_issuer(issuer_id, "audit passed")

    deciding.before_the_write(suspend_and_reinstate)
    result = deciding.application.issue(signed(body))
    assert (result.status, result.replayed) == ("active", False)
    assert len(deciding.credential_events()) == 1


def test_a_bulk_issue_signed_with_a_key_rotated_meanwhile_refuses_every_item(
    deciding: Deciding,
) -> None:
    signer = deciding.issuer.signer
    bodies = [signed(signer.issue(content(), {**LEARNER, "identifier": f"l{i}"})) for i in range(3)]
    deciding.key_rotated_before_the_write()
    outcomes = deciding.application.issue_many(bodies)
    assert [type(o) for o in outcomes] == [SignatureInvalid] * 3
    assert deciding.credential_events() == []


def test_an_amendment_signed_with_a_key_rotated_meanwhile_is_refused_and_not_written(
    deciding: Deciding,
) -> None:
    credential_id = issue(deciding.ledger, deciding.issuer)
    body = deciding.issuer.signer.amend(credential_id, 1, content(title="v2"), learner=LEARNER)
    deciding.key_rotated_before_the_write()
    with pytest.raises(SignatureInvalid):
        deciding.application.amend(signed(body))
    assert len(deciding.credential_events()) == 1
