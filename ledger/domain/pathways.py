"""A pathway: what a recognising institution asks of micro-credentials, from several issuers,
before it will consider recognising them together toward a target.

A pathway is a published rule set, never an automatic award: meeting it makes a recognition
decision possible, nothing more. Credit points count per framework only (ECTS and ECVET are
never added together); every amount is a decimal in text, as in credential content.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ledger.domain.content import EscoSkill, ShortText, in_codelist

_POINTS = r"^(0|[1-9][0-9]{0,3})(\.[0-9]{1,2})?$"


def _points(value: str) -> str:
    if not re.fullmatch(_POINTS, value) or Decimal(value) <= 0:
        raise ValueError(
            f'{value!r} must be a positive decimal of at most 9999.99 such as "30" or "7.5", '
            "with ASCII digits"
        )
    return value


Points = Annotated[str, AfterValidator(_points)]
Framework = Annotated[str, in_codelist("credit-points", "credit systems")]
EqfLevel = Annotated[str, in_codelist("eqf", "EQF levels")]
ThematicArea = Annotated[str, in_codelist("isced-f", "ISCED-F fields")]
QaType = Annotated[str, in_codelist("accreditation-types", "quality-assurance types")]


def _days(value: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,4}", value) or int(value) > 36_500:
        raise ValueError(f"{value!r} must be a number of days from 1 to 36500, in ASCII digits")
    return value


# Commands hold only text (their canonical bytes are plain): a count of days in digits.
Days = Annotated[str, AfterValidator(_days)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathwayTarget(_Strict):
    """What the pathway leads toward."""

    title: ShortText
    eqf_level: EqfLevel
    thematic_area: ThematicArea = Field(description="The target's ISCED-F field.")
    qualification: ShortText | None = Field(
        default=None, description="The qualification the recognised credits count toward."
    )


class CreditRule(_Strict):
    """At least ``minimum`` points in ``framework``, from components that count."""

    framework: Framework
    minimum: Points


class AreaRule(_Strict):
    """At least ``minimum`` points in ``framework`` from components in one thematic area, or
    with a learning outcome of one ESCO skill."""

    framework: Framework
    minimum: Points
    thematic_area: ThematicArea | None = None
    esco_skill: EscoSkill | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> AreaRule:
        if (self.thematic_area is None) == (self.esco_skill is None):
            raise ValueError("name exactly one of thematic_area or esco_skill")
        return self


class ProviderCap(_Strict):
    """At most ``maximum`` points in ``framework`` from any one issuer."""

    framework: Framework
    maximum: Points


class RequiredComponent(_Strict):
    """A micro-credential that must be among the components: its issuer and its title."""

    issuer_id: Annotated[
        str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    ]
    title: ShortText


class PathwayRules(_Strict):
    """Every rule of a pathway; a component that fails a component rule counts for nothing."""

    credits: Annotated[list[CreditRule], Field(min_length=1, max_length=2)]
    areas: Annotated[list[AreaRule], Field(max_length=20)] = []
    min_component_eqf_level: EqfLevel | None = None
    accepted_qa_types: Annotated[list[QaType], Field(min_length=1, max_length=10)] | None = None
    max_component_age_days: Days | None = None
    max_points_per_provider: Annotated[list[ProviderCap], Field(max_length=2)] = []
    required_components: Annotated[list[RequiredComponent], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _frameworks_once(self) -> PathwayRules:
        frameworks = [rule.framework for rule in self.credits]
        if len(set(frameworks)) != len(frameworks):
            raise ValueError("credits names each framework once")
        asked = set(frameworks)
        others = {r.framework for r in self.areas}
        others |= {c.framework for c in self.max_points_per_provider}
        if not others <= asked:
            raise ValueError("areas and caps may only use a framework the credits rules name")
        return self


def eqf_rank(level: str) -> int:
    """The number of an EQF level URI (``…/eqf/6`` is 6)."""
    return int(level.rsplit("/", 1)[1])
