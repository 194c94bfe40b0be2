"""What a micro-credential says: the EU constitutive elements and their validation rules.

The models mirror the mandatory and optional elements of the 2022 Council Recommendation
(Annex I) with European Learning Model code lists. Structural rules (types, shapes, closed code
lists) live on the models; rules that relate several fields are in :func:`consistency_errors`.
Validation never rewrites the input: what the issuer signed is what the ledger stores.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ledger import codelists
from ledger.errors import FieldError

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_DECIMAL = re.compile(r"^\d+(\.\d+)?$")
_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
_ESCO_SKILL = re.compile(r"^http://data\.europa\.eu/esco/skill/[0-9a-f-]{36}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# Clocks of issuers and ledger differ a little; "not in the future" allows this much.
CLOCK_SKEW = timedelta(minutes=5)


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp that must carry a time zone."""
    if not _RFC3339.match(value):
        raise ValueError(
            "must be an RFC 3339 date-time with a time zone, such as 2026-03-01T09:00:00+01:00"
        )
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a real date and time") from None


def _timestamp(value: str) -> str:
    parse_timestamp(value)
    return value


def in_codelist(codelist_name: str, what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in codelists.load(codelist_name):
            raise ValueError(f"{value!r} is not in the EU code list of {what}s ({codelist_name})")
        return value

    return AfterValidator(check)


def _positive_decimal(value: str) -> str:
    if not _DECIMAL.match(value):
        raise ValueError(
            f'{value!r} must be a plain positive decimal such as "5" or "2.5" '
            "(no units: credits and hours are separate fields)"
        )
    try:
        if Decimal(value) <= 0:
            raise ValueError("must be greater than zero")
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    return value


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} must be an ISO 8601 duration such as PT125H")
    if not re.search(r"[1-9]", value):
        raise ValueError("must be a positive duration")
    return value


def _esco_skill(value: str) -> str:
    if not _ESCO_SKILL.match(value):
        raise ValueError(
            "must be an ESCO skill URI: http://data.europa.eu/esco/skill/<lower-case UUID>"
        )
    return value


def _commitment(value: str) -> str:
    if not _HEX64.match(value):
        raise ValueError("must be 64 lower-case hex digits (a SHA-256 commitment)")
    return value


Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=False)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Timestamp = Annotated[str, AfterValidator(_timestamp)]
Country = Annotated[str, in_codelist("countries", "country")]
Language = Annotated[str, in_codelist("languages", "language")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LearnerCommitment(_Strict):
    """The learner, as the events see them: a salted SHA-256 commitment, never clear data."""

    commitment: Annotated[str, AfterValidator(_commitment)]


class AwardingBody(_Strict):
    legal_name: ShortText
    country: Country
    identifier: ShortText | None = None


class LearningOutcome(_Strict):
    text: Text
    esco_skill: Annotated[str, AfterValidator(_esco_skill)] | None = None


class CreditPoint(_Strict):
    framework: Annotated[str, in_codelist("credit-points", "credit system")]
    point: Annotated[str, AfterValidator(_positive_decimal)]


class Workload(_Strict):
    """Notional workload: credits where a credit system applies, otherwise hours."""

    credit_points: Annotated[list[CreditPoint], Field(min_length=1, max_length=2)] | None = None
    volume_of_learning: Annotated[str, AfterValidator(_duration)] | None = None


class FormOfParticipation(_Strict):
    mode: Annotated[str, in_codelist("modes", "mode of learning")]
    learning_setting: (
        Annotated[str, in_codelist("learning-settings", "learning setting")] | None
    ) = None


class QualityAssurance(_Strict):
    type: Annotated[str, in_codelist("accreditation-types", "quality-assurance type")]
    body: ShortText
    reference: ShortText | None = None


class Grade(_Strict):
    value: ShortText
    scheme: ShortText | None = None


class StackingTarget(_Strict):
    title: ShortText
    id: ShortText | None = None


class Stackability(_Strict):
    option: Literal["standalone", "stackable"]
    towards: StackingTarget | None = None


class CredentialContent(_Strict):
    """Every constitutive element of one micro-credential version, as the issuer signs it."""

    credential_type: Literal["micro-credential"]
    title: ShortText
    language: Language | None = None
    learner: LearnerCommitment
    issuer_country: Country
    issuer_region: ShortText | None = None
    awarding_bodies: Annotated[list[AwardingBody], Field(min_length=1, max_length=20)]
    issued: Timestamp
    awarding_date: Timestamp | None = None
    valid_until: Timestamp | None = None
    learning_outcomes: Annotated[list[LearningOutcome], Field(min_length=1, max_length=100)]
    workload: Workload
    eqf_level: Annotated[str, in_codelist("eqf", "EQF level")] | None = None
    nqf_level: Annotated[str, in_codelist("nqf", "NQF level")] | None = None
    thematic_area: Annotated[str, in_codelist("isced-f", "ISCED-F field")]
    assessment_types: Annotated[
        list[Annotated[str, in_codelist("assessment-types", "type of assessment")]],
        Field(min_length=1, max_length=14),
    ]
    form_of_participation: FormOfParticipation
    quality_assurance: QualityAssurance
    prerequisites: Text | None = None
    supervision: ShortText | None = None
    grade: Grade | None = None
    stackability: Stackability | None = None
    further_information: Text | None = None


class LearnerData(_Strict):
    """The learner's identification: personal data, kept out of every event."""

    identifier: ShortText
    full_name: ShortText
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    date_of_birth: date | None = None
    email: ShortText | None = None


def consistency_errors(
    content: CredentialContent,
    now: datetime,
    supervision_values: tuple[str, ...] = codelists.SUPERVISION_VALUES,
    prefix: str = "content",
) -> list[FieldError]:
    """The rules that relate several fields of one credential, with the field each breaks."""
    errors: list[FieldError] = []
    issued = parse_timestamp(content.issued)
    if issued > now + CLOCK_SKEW:
        errors.append(FieldError(f"{prefix}.issued", "date-in-future", "must not be in the future"))
    if content.awarding_date is not None and parse_timestamp(content.awarding_date) > issued:
        errors.append(
            FieldError(
                f"{prefix}.awarding_date", "date-order", "must not be later than the issue date"
            )
        )
    if content.valid_until is not None and parse_timestamp(content.valid_until) <= issued:
        errors.append(
            FieldError(f"{prefix}.valid_until", "date-order", "must be later than the issue date")
        )
    workload = content.workload
    if workload.credit_points is None and workload.volume_of_learning is None:
        errors.append(
            FieldError(
                f"{prefix}.workload",
                "workload-required",
                "needs credit_points (ECTS or ECVET) or, where no credits apply, "
                "volume_of_learning in hours",
            )
        )
    elif workload.credit_points is not None:
        frameworks = [cp.framework for cp in workload.credit_points]
        if len(set(frameworks)) != len(frameworks):
            errors.append(
                FieldError(
                    f"{prefix}.workload.credit_points",
                    "duplicate-framework",
                    "names the same credit system twice",
                )
            )
    if content.grade is not None and set(content.assessment_types) <= (
        codelists.NON_GRADING_ASSESSMENTS
    ):
        errors.append(
            FieldError(
                f"{prefix}.grade",
                "grade-without-grading-assessment",
                "a grade needs at least one type of assessment that produces a grade "
                "(attendance and peer review do not)",
            )
        )
    if content.supervision is not None and content.supervision not in supervision_values:
        errors.append(
            FieldError(
                f"{prefix}.supervision",
                "code-list",
                f"must be one of: {'; '.join(supervision_values)}",
            )
        )
    stack = content.stackability
    if stack is not None:
        if stack.option == "stackable" and stack.towards is None:
            errors.append(
                FieldError(
                    f"{prefix}.stackability.towards",
                    "stackable-needs-target",
                    "a stackable credential must name the credential it stacks towards",
                )
            )
        if stack.option == "standalone" and stack.towards is not None:
            errors.append(
                FieldError(
                    f"{prefix}.stackability.towards",
                    "standalone-has-target",
                    "a standalone credential stacks towards nothing",
                )
            )
    return errors


def learner_errors(learner: LearnerData, today: date, prefix: str) -> list[FieldError]:
    """Rules on the learner's own data that a schema cannot express."""
    if learner.date_of_birth is not None and learner.date_of_birth > today:
        return [
            FieldError(f"{prefix}.date_of_birth", "date-in-future", "must not be in the future")
        ]
    return []


def utc_now() -> datetime:
    return datetime.now(UTC)
