"""An issue, one or in bulk, is decided first on the issuer as the process last read it.

Reading the issuer again from the store before every issue is a read transaction on the path
of every single write. The write is conditional on the issuer still being at the version the
decision rested on, so a process may decide on the issuer it holds: if that is stale (the
issuer's key was rotated, or it was suspended, since), the write fails and the command is
decided again on the issuer as the store has it. A refusal writes nothing, so a refusal decided
on the held issuer is decided again too.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.application.service import Ledger
from ledger.client import CommandSigner
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import IssuerSuspended, SignatureInvalid
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


def test_an_issue_reads_nothing_of_its_issuer_from_the_store_once_the_issuer_is_held(
    held: Ledger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = held
    reads: list[Any] = []
    read = app.repository.event_store.get

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs.get("originator_id", args[0] if args else None))
        return read(*args, **kwargs)

    monkeypatch.setattr(app.repository.event_store, "get", counted)
    app.issue(signed(issuer.signer, "second"))
    assert reads == []


def test_an_issue_signed_with_a_key_rotated_away_since_the_issuer_was_held_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger
) -> None:
    old = CommandSigner(issuer.key, issuer.issuer_id)
    ledger.public.rotate_key(issuer.signer.rotate_key(IssuerKey.generate()))
    with pytest.raises(SignatureInvalid):
        held.issue(signed(old, "second"))
    assert credential_events(ledger) == 1


def test_an_issue_signed_with_the_key_rotated_in_since_the_issuer_was_held_is_written(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger
) -> None:
    new_key = IssuerKey.generate()
    ledger.public.rotate_key(issuer.signer.rotate_key(new_key))
    result = held.issue(signed(CommandSigner(new_key, issuer.issuer_id), "second"))
    assert (result.status, result.replayed) == ("active", False)
    assert credential_events(ledger) == 2


def test_an_issue_after_its_held_issuer_was_suspended_is_refused_and_not_written(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger
) -> None:
    ledger.admin.suspend_issuer(issuer.issuer_id, "audit")
    with pytest.raises(IssuerSuspended):
        held.issue(signed(issuer.signer, "second"))
    assert credential_events(ledger) == 1


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


def test_a_bulk_issue_reads_nothing_of_its_issuer_from_the_store_once_the_issuer_is_held(
    held: Ledger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Any] = []
    read = held.repository.event_store.get

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs.get("originator_id", args[0] if args else None))
        return read(*args, **kwargs)

    monkeypatch.setattr(held.repository.event_store, "get", counted)
    outcomes = held.issue_many([signed(issuer.signer, f"bulk-{i}") for i in range(3)])
    assert [o.status for o in outcomes if not isinstance(o, Exception)] == ["active"] * 3
    assert reads == []


def test_a_bulk_issue_signed_with_a_key_rotated_away_since_the_issuer_was_held_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger
) -> None:
    old = CommandSigner(issuer.key, issuer.issuer_id)
    ledger.public.rotate_key(issuer.signer.rotate_key(IssuerKey.generate()))
    outcomes = held.issue_many([signed(old, f"bulk-{i}") for i in range(3)])
    assert [type(o) for o in outcomes] == [SignatureInvalid] * 3
    assert credential_events(ledger) == 1


def test_a_bulk_issue_signed_with_the_key_rotated_in_since_the_issuer_was_held_is_written(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger
) -> None:
    new_key = IssuerKey.generate()
    ledger.public.rotate_key(issuer.signer.rotate_key(new_key))
    new = CommandSigner(new_key, issuer.issuer_id)
    outcomes = held.issue_many([signed(new, f"bulk-{i}") for i in range(3)])
    assert [getattr(o, "status", o) for o in outcomes] == ["active"] * 3
    assert credential_events(ledger) == 4


def test_a_bulk_issue_after_its_held_issuer_was_suspended_is_refused_and_not_written(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger
) -> None:
    ledger.admin.suspend_issuer(issuer.issuer_id, "audit")
    outcomes = held.issue_many([signed(issuer.signer, f"bulk-{i}") for i in range(3)])
    assert [type(o) for o in outcomes] == [IssuerSuspended] * 3
    assert credential_events(ledger) == 1


def test_a_bulk_issue_after_its_held_issuer_was_suspended_and_reinstated_is_written(
    ledger: RunningLedger, issuer: RegisteredIssuer, held: Ledger
) -> None:
    ledger.admin.suspend_issuer(issuer.issuer_id, "audit")
    ledger.admin.reinstate_issuer(issuer.issuer_id, "audit passed")
    outcomes = held.issue_many([signed(issuer.signer, f"bulk-{i}") for i in range(3)])
    assert [getattr(o, "status", o) for o in outcomes] == ["active"] * 3
    assert credential_events(ledger) == 4
