"""A credential's content is validated once for a cohort: a command repeating a content already
validated has only its learner's commitment and its own fields checked, and gets the model, or
the refusal, that the full validation gives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from ledger.application import repeated_content
from ledger.application.command_checks import command
from ledger.client import CommandSigner
from ledger.domain import samples
from ledger.domain.commands import AmendCommand, IssueCommand
from ledger.domain.errors import InvalidInput
from ledger.domain.field_errors import parse
from ledger.domain.signing import IssuerKey

# After the signatures below (the signer dates its commands now).
NOW = datetime.now(UTC) + timedelta(hours=1)
SIGNER = CommandSigner(IssuerKey.generate(), str(uuid.uuid4()))


def content(**changed: Any) -> dict[str, Any]:
    return {**samples.credential_content(datetime(2026, 3, 1, tzinfo=UTC)), **changed}


def issued(learner: str, **changed: Any) -> dict[str, Any]:
    """An issue command's data for ``learner`` (the content as the sample, with ``changed``)."""
    signed = SIGNER.issue(content(**changed), {"identifier": learner, "full_name": learner})
    data: dict[str, Any] = signed["command"]
    return data


def amended(learner: str) -> dict[str, Any]:
    signed = SIGNER.amend(
        str(uuid.uuid4()), 1, content(), {"identifier": learner, "full_name": learner}
    )
    data: dict[str, Any] = signed["command"]
    return data


def refusal(model: type[BaseModel], data: dict[str, Any]) -> list[Any]:
    with pytest.raises(InvalidInput) as raised:
        command(model, data, NOW)
    return raised.value.errors


def full_refusal(model: type[BaseModel], data: dict[str, Any]) -> list[Any]:
    with pytest.raises(InvalidInput) as raised:
        parse(model, data, "command")
    return raised.value.errors


@pytest.fixture(autouse=True)
def nothing_kept() -> None:
    repeated_content._content_less_learner.cache_clear()


@pytest.mark.parametrize(
    ("model", "make"), [(IssueCommand, issued), (AmendCommand, amended)], ids=["issue", "amend"]
)
def test_a_repeated_content_gives_the_model_the_full_validation_gives(
    model: type[BaseModel], make: Any
) -> None:
    command(model, make("first learner"), NOW)
    data = make("second learner")
    reused = repeated_content.validated(model, data)
    assert reused is not None
    assert repeated_content._content_less_learner.cache_info().hits == 1
    full = model.model_validate(data)
    assert reused == full
    assert reused.model_dump() == full.model_dump()
    assert reused.model_fields_set == full.model_fields_set


def test_a_content_not_seen_before_is_validated_in_full_and_then_kept() -> None:
    assert repeated_content.validated(IssueCommand, issued("a learner")) is not None
    info = repeated_content._content_less_learner.cache_info()
    assert (info.misses, info.currsize) == (1, 1)


def test_a_bad_commitment_in_a_repeated_content_is_refused_as_in_full() -> None:
    command(IssueCommand, issued("first learner"), NOW)
    data = issued("second learner")
    data["content"]["learner"] = {"commitment": "not a commitment"}
    assert refusal(IssueCommand, data) == full_refusal(IssueCommand, data)
    assert [e.field for e in refusal(IssueCommand, data)] == ["command.content.learner.commitment"]


def test_a_bad_field_of_the_command_itself_is_refused_as_in_full() -> None:
    command(IssueCommand, issued("first learner"), NOW)
    data = {**issued("second learner"), "issuer_id": "not a uuid", "unexpected": "member"}
    assert repeated_content.validated(IssueCommand, data) is None
    assert refusal(IssueCommand, data) == full_refusal(IssueCommand, data)


def test_a_content_that_differs_in_one_member_is_not_taken_from_another() -> None:
    command(IssueCommand, issued("first learner"), NOW)
    data = issued("second learner", issuer_country="not a country")
    assert refusal(IssueCommand, data) == full_refusal(IssueCommand, data)
    assert [e.field for e in refusal(IssueCommand, data)] == ["command.content.issuer_country"]


def test_a_content_invalid_in_itself_is_not_kept() -> None:
    data = issued("a learner", title="")
    assert repeated_content.validated(IssueCommand, data) is None
    assert repeated_content._content_less_learner.cache_info().currsize == 0
    assert refusal(IssueCommand, data) == full_refusal(IssueCommand, data)


def test_no_more_contents_are_kept_than_the_limit() -> None:
    for n in range(repeated_content.KEPT_CONTENTS + 5):
        repeated_content.validated(IssueCommand, issued("a learner", title=f"Course {n}"))
    assert repeated_content._content_less_learner.cache_info().currsize == (
        repeated_content.KEPT_CONTENTS
    )
