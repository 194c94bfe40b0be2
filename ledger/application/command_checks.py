"""Checks of a signed command that need no state: shape, rules, commitment and signature.

They are pure functions of the request and the clock; the checks that need the issuer register
run afterwards in the application.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from ledger.application import repeated_content
from ledger.application.signer_recovery import SignerRecovery, recover
from ledger.domain.canonical import canonical_bytes_of_text
from ledger.domain.commands import IssueCommand, PersonalData
from ledger.domain.commitment import matches
from ledger.domain.content import (
    CLOCK_SKEW,
    ContentRules,
    CredentialContent,
    consistency_errors,
    learner_errors,
    parse_timestamp,
)
from ledger.domain.errors import FieldError, InvalidInput, LedgerError, SignatureInvalid
from ledger.domain.field_errors import parse

M = TypeVar("M", bound=BaseModel)


# A log entry is at most 65,535 bytes (a tlog-tiles entry bundle gives each a uint16 length);
# the entry's other fields (position, type, ids, time, signature, key) take well under 5,000.
MAX_COMMAND_BYTES = 60_000


def command(model: type[M], data: dict[str, Any], now: datetime) -> M:
    """The command parsed as ``model``, signed no later than now (422 otherwise)."""
    parsed = repeated_content.validated(model, data) or parse(model, data, "command")
    signed_at = getattr(parsed, "signed_at", None)
    if signed_at is not None and parse_timestamp(signed_at) > now + CLOCK_SKEW:
        raise InvalidInput(
            [FieldError("command.signed_at", "date-in-future", "must not be in the future")]
        )
    return parsed


def signed_bytes(data: dict[str, Any]) -> bytes:
    """The bytes a command's signature covers: its canonical JSON (422 if they would not fit a
    log entry).

    Call it on a command its model has validated: the fast canonical form relies on that.
    """
    signed = canonical_bytes_of_text(data)
    if len(signed) > MAX_COMMAND_BYTES:
        raise InvalidInput(
            [
                FieldError(
                    "command",
                    "too-large",
                    f"the command is {len(signed):,} bytes in canonical form; at most "
                    f"{MAX_COMMAND_BYTES:,} fit the log entry that records it",
                )
            ]
        )
    return signed


def signer(data: dict[str, Any], signature: str) -> bytes:
    """The address (20 bytes) that signed the command's canonical bytes (401 if none); a
    command whose bytes would not fit a log entry is refused first (422).

    Call it on a command its model has validated: the fast canonical form relies on that.
    """
    recovered = recover(signed_bytes(data), signature)
    if isinstance(recovered, SignatureInvalid):
        raise recovered
    return recovered


def content_rules(
    content: CredentialContent, now: datetime, rules: ContentRules, prefix: str
) -> None:
    errors = consistency_errors(content, now, rules, prefix=prefix)
    if errors:
        raise InvalidInput(errors)


def personal_data(
    data: dict[str, Any] | None, commitment: str, now: datetime
) -> tuple[dict[str, Any], str]:
    """The learner's data (as its model dumps it) and salt, checked to open ``commitment``
    (422 otherwise)."""
    if data is None:
        raise InvalidInput(
            [
                FieldError(
                    "personal_data",
                    "missing",
                    "the learner's data and salt are required for a new commitment",
                )
            ]
        )
    opened = parse(PersonalData, data, "personal_data")
    errors = learner_errors(opened.learner, now.date(), "personal_data.learner")
    if errors:
        raise InvalidInput(errors)
    learner = learner_json(opened)
    if not matches(learner, opened.salt, commitment):
        raise InvalidInput(
            [
                FieldError(
                    "command.content.learner.commitment",
                    "commitment-mismatch",
                    "is not SHA-256(salt || JCS(learner)) of the personal data sent",
                )
            ]
        )
    return learner, opened.salt


def learner_json(opened: PersonalData) -> dict[str, Any]:
    return opened.learner.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class CheckedIssue:
    """An issue command that passed every stateless check."""

    command_id: str
    issuer_id: str
    signer: bytes
    issuer_country: str
    qa_type: str
    commitment: str
    learner: dict[str, Any]
    salt: str


def _unsigned_checks(
    data: dict[str, Any], personal: dict[str, Any] | None, now: datetime, rules: ContentRules
) -> tuple[IssueCommand, tuple[dict[str, Any], str]]:
    issue = command(IssueCommand, data, now)
    content_rules(issue.content, now, rules, "command.content")
    return issue, personal_data(personal, issue.content.learner.commitment, now)


def _checked(
    issue: IssueCommand, opened: tuple[dict[str, Any], str], signer: bytes
) -> CheckedIssue:
    return CheckedIssue(
        command_id=issue.command_id,
        issuer_id=issue.issuer_id,
        signer=signer,
        issuer_country=issue.content.issuer_country,
        qa_type=issue.content.quality_assurance.type,
        commitment=issue.content.learner.commitment,
        learner=opened[0],
        salt=opened[1],
    )


def check_issue(
    body: tuple[dict[str, Any], str, dict[str, Any] | None],
    now: datetime,
    rules: ContentRules,
) -> CheckedIssue | LedgerError:
    """Every stateless check of one issue request: (command, signature, personal_data)."""
    data, signature, personal = body
    try:
        issue, opened = _unsigned_checks(data, personal, now, rules)
        return _checked(issue, opened, signer(data, signature))
    except LedgerError as exc:
        return exc


def check_issues(
    bodies: Sequence[tuple[dict[str, Any], str, dict[str, Any] | None]],
    now: datetime,
    rules: ContentRules,
    recovery: SignerRecovery,
) -> list[CheckedIssue | LedgerError]:
    """:func:`check_issue` of each body, in order, with the same outcomes; the signers of the
    bodies that pass every other check are recovered together at the end, by ``recovery``
    (on two cores where one is idle)."""
    signed: list[tuple[bytes, str]] = []
    unsigned: list[tuple[IssueCommand, tuple[dict[str, Any], str]] | LedgerError] = []
    for data, signature, personal in bodies:
        try:
            checked = _unsigned_checks(data, personal, now, rules)
            signed.append((signed_bytes(data), signature))
        except LedgerError as exc:
            unsigned.append(exc)
            continue
        unsigned.append(checked)
    signers = recovery.signers(signed)
    outcomes: list[CheckedIssue | LedgerError] = []
    for item in unsigned:
        if isinstance(item, LedgerError):
            outcomes.append(item)
            continue
        recovered = next(signers)
        outcomes.append(
            recovered if isinstance(recovered, LedgerError) else _checked(*item, recovered)
        )
    return outcomes
