"""What a micro-credential says: the EU constitutive elements and their validation rules.

The models mirror the mandatory and optional elements of the 2022 Council Recommendation
(Annex I) with European Learning Model code lists. Structural rules (types, shapes, closed code
lists) live on the models; rules that relate several fields, and the configurable bounds, are in
:func:`consistency_errors`. Validation never rewrites the input: what the issuer signed is what
the ledger stores, and anchors for ever.

Text policy, for every text field of a command, a registration and a learner's data: Unicode NFC
(refused otherwise, never normalised here: normalising would change what was signed; the
client library normalises before it signs and commits), not blank, no control characters (a
line feed only in long texts), no bidirectional embedding, override or isolate characters.
Every pattern matches the whole value, with ASCII digits only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ledger.domain import codelists
from ledger.domain.errors import FieldError

# Every pattern is used with fullmatch (a "$" would also match before a final line feed) and
# with ASCII digits only ([0-9], never \d, which matches any script's digits).
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_DECIMAL = re.compile(r"[0-9]{1,6}(\.[0-9]{1,3})?")
_DURATION = re.compile(
    r"P(?!$)([0-9]{1,4}Y)?([0-9]{1,4}M)?([0-9]{1,4}W)?([0-9]{1,5}D)?"
    r"(T(?=[0-9])([0-9]{1,6}H)?([0-9]{1,6}M)?([0-9]{1,8}(\.[0-9]{1,3})?S)?)?"
)
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_ESCO_SKILL = re.compile(rf"http://data\.europa\.eu/esco/skill/{_UUID}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# C0 and C1 controls, DEL, surrogates, and the bidirectional embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069) that can make text display other than it reads.
_FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_FORBIDDEN_IN_TEXT = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_HOURS_PER = {"Y": 8766.0, "M": 730.5, "W": 168.0, "D": 24.0}

# Clocks of issuers and ledger differ a little; "not in the future" allows this much.
CLOCK_SKEW = timedelta(minutes=5)


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp that must carry a time zone."""
    if not _RFC3339.fullmatch(value):
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


# A code list this short is named in full in an error; a longer one is pointed to.
_LISTED_IN_FULL = 20


def in_codelist(codelist_name: str, what: str) -> AfterValidator:
    """A value of the EU code list ``codelist_name``; ``what`` names its kind, in plural."""

    labels: dict[str, str] = {}  # the list's, by URI: read on first use, then held here

    def check(value: str) -> str:
        if not labels:
            labels.update(codelists.load(codelist_name).labels)
        if value in labels:
            return value
        if len(labels) <= _LISTED_IN_FULL:
            allowed = "; ".join(f"{uri} ({label})" for uri, label in labels.items())
            raise ValueError(
                f"{value!r} is not in the EU code list of {what} ({codelist_name}); "
                f"allowed: {allowed}"
            )
        raise ValueError(
            f"{value!r} is not in the EU code list of {what} ({codelist_name}, "
            f"{len(labels)} entries: GET /codelists/labels?list={codelist_name})"
        )

    return AfterValidator(check)


def _text_policy(forbidden: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank (whitespace only)")
        if (found := forbidden.search(value)) is not None:
            kind = "bidirectional control" if "\u202a" <= found.group() <= "\u2069" else "control"
            raise ValueError(f"must not contain the {kind} character U+{ord(found.group()):04X}")
        if not unicodedata.is_normalized("NFC", value):
            raise ValueError("must be in Unicode normalization form NFC (normalise, then sign)")
        return value

    return AfterValidator(check)


def _positive_decimal(value: str) -> str:
    if not _DECIMAL.fullmatch(value):
        raise ValueError(
            f'{value!r} must be a plain positive decimal such as "5" or "2.5", with ASCII '
            "digits (no units: credits and hours are separate fields)"
        )
    try:
        if Decimal(value) <= 0:
            raise ValueError("must be greater than zero")
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    return value


def _duration(value: str) -> str:
    if not _DURATION.fullmatch(value):
        raise ValueError(f"{value!r} must be an ISO 8601 duration such as PT125H")
    if not re.search(r"[1-9]", value):
        raise ValueError("must be a positive duration")
    return value


def duration_hours(value: str) -> float:
    """The hours an ISO 8601 duration spans (a year of 365.25 days, a month of 1/12 year)."""
    date_part, _, time_part = value[1:].partition("T")
    hours = sum(
        float(n) * _HOURS_PER[unit] for n, unit in re.findall(r"([0-9.]+)([YMWD])", date_part)
    )
    factors = {"H": 1.0, "M": 1 / 60, "S": 1 / 3600}
    return hours + sum(
        float(n) * factors[unit] for n, unit in re.findall(r"([0-9.]+)([HMS])", time_part)
    )


def _esco_skill(value: str) -> str:
    if not _ESCO_SKILL.fullmatch(value):
        raise ValueError(
            "must be an ESCO skill URI: http://data.europa.eu/esco/skill/<lower-case UUID>"
        )
    return value


def _commitment(value: str) -> str:
    if not _HEX64.fullmatch(value):
        raise ValueError("must be 64 lower-case hex digits (a SHA-256 commitment)")
    return value


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=False),
    _text_policy(_FORBIDDEN_IN_TEXT),
]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=500), _text_policy(_FORBIDDEN_IN_LINE)
]
Timestamp = Annotated[str, AfterValidator(_timestamp)]
Country = Annotated[str, in_codelist("countries", "countries")]
EscoSkill = Annotated[str, AfterValidator(_esco_skill)]
Language = Annotated[str, in_codelist("languages", "languages")]


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
    esco_skill: EscoSkill | None = None


class CreditPoint(_Strict):
    framework: Annotated[str, in_codelist("credit-points", "credit systems")]
    point: Annotated[str, AfterValidator(_positive_decimal)]


class Workload(_Strict):
    """Notional workload: credits where a credit system applies, otherwise hours."""

    credit_points: Annotated[list[CreditPoint], Field(min_length=1, max_length=2)] | None = None
    volume_of_learning: Annotated[str, AfterValidator(_duration)] | None = None


class FormOfParticipation(_Strict):
    mode: Annotated[str, in_codelist("modes", "modes of learning")]
    learning_setting: (
        Annotated[str, in_codelist("learning-settings", "learning settings")] | None
    ) = None


class QualityAssurance(_Strict):
    type: Annotated[str, in_codelist("accreditation-types", "quality-assurance types")]
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


_UUID_TEXT = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class ComponentReference(_Strict):
    """A micro-credential a stacked credential is made of: its id and the version recognised."""

    credential_id: Annotated[str, StringConstraints(pattern=_UUID_TEXT)]
    version: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,6}$")]


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
    eqf_level: Annotated[str, in_codelist("eqf", "EQF levels")] | None = None
    nqf_level: Annotated[str, in_codelist("nqf", "NQF levels")] | None = None
    thematic_area: Annotated[str, in_codelist("isced-f", "ISCED-F fields")]
    assessment_types: Annotated[
        list[Annotated[str, in_codelist("assessment-types", "types of assessment")]],
        Field(min_length=1, max_length=14),
    ]
    form_of_participation: FormOfParticipation
    quality_assurance: QualityAssurance
    prerequisites: Text | None = None
    supervision: ShortText | None = None
    grade: Grade | None = None
    stackability: Stackability | None = None
    further_information: Text | None = None
    has_part: Annotated[list[ComponentReference], Field(min_length=1, max_length=30)] | None = None
    recognition_id: (
        Annotated[
            str,
            StringConstraints(pattern=_UUID_TEXT),
        ]
        | None
    ) = None


class LearnerData(_Strict):
    """The learner's identification: personal data, kept out of every event."""

    identifier: ShortText
    full_name: ShortText
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    date_of_birth: date | None = None
    email: ShortText | None = None


@dataclass(frozen=True)
class ContentRules:
    """The ledger's configurable rules for credential content."""

    supervision_values: tuple[str, ...] = codelists.SUPERVISION_VALUES
    max_credit_points: Decimal = Decimal(60)
    """A micro-credential is short: 60 ECTS is a full year of study."""
    max_volume_hours: int = 1800
    """60 ECTS at 30 hours each."""


DEFAULT_RULES = ContentRules()


def _bounds_errors(workload: Workload, rules: ContentRules, prefix: str) -> list[FieldError]:
    errors = []
    for index, credit in enumerate(workload.credit_points or []):
        if Decimal(credit.point) > rules.max_credit_points:
            errors.append(
                FieldError(
                    f"{prefix}.workload.credit_points[{index}].point",
                    "too-large",
                    f"must be at most {rules.max_credit_points} for a micro-credential",
                )
            )
    volume = workload.volume_of_learning
    if volume is not None and duration_hours(volume) > rules.max_volume_hours:
        errors.append(
            FieldError(
                f"{prefix}.workload.volume_of_learning",
                "too-large",
                f"must be at most {rules.max_volume_hours} hours for a micro-credential",
            )
        )
    return errors


def consistency_errors(
    content: CredentialContent,
    now: datetime,
    rules: ContentRules = DEFAULT_RULES,
    prefix: str = "content",
) -> list[FieldError]:
    """The rules that relate several fields of one credential, and the configured bounds,
    with the field each breaks."""
    errors: list[FieldError] = _bounds_errors(content.workload, rules, prefix)
    if (content.has_part is None) != (content.recognition_id is None):
        errors.append(
            FieldError(
                f"{prefix}.has_part",
                "recognition-required",
                "a stacked credential names its components and the recognition that decided "
                "them (has_part with recognition_id); neither goes alone",
            )
        )
    supervision_values = rules.supervision_values
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
