"""Every validation rule for an issue command, each with a failing example.

A rejection is a 422 problem document that names the field and the rule it broke.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.client import LedgerRequestError
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content

NOW = datetime.now(UTC).replace(microsecond=0)
ATTENDANCE = "http://data.europa.eu/snb/assessment/7331eb4762"
PROGRAM_QA = "http://data.europa.eu/snb/accreditation/820101cba6"
FRANCE = "http://publications.europa.eu/resource/authority/country/FRA"


def without(field: str) -> dict[str, Any]:
    body = content()
    del body[field]
    return body


def rejected(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    body: dict[str, Any],
    learner: dict[str, Any] = LEARNER,
) -> dict[str, Any]:
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.issue(issuer.signer.issue(body, learner))
    assert caught.value.status == 422, caught.value.problem
    assert caught.value.problem["type"].endswith("/invalid-input")
    return caught.value.problem


def fields(problem: dict[str, Any]) -> dict[str, str]:
    return {error["field"]: error["rule"] for error in problem["errors"]}


@pytest.mark.parametrize(
    "field",
    [
        "title",
        "issuer_country",
        "awarding_bodies",
        "issued",
        "learning_outcomes",
        "workload",
        "assessment_types",
        "form_of_participation",
        "quality_assurance",
        "thematic_area",
        "credential_type",
    ],
)
def test_each_mandatory_element_is_required(
    ledger: RunningLedger, issuer: RegisteredIssuer, field: str
) -> None:
    problem = rejected(ledger, issuer, without(field))
    assert fields(problem) == {f"command.content.{field}": "missing"}


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "EQF outside 1-8",
        {"eqf_level": "http://data.europa.eu/snb/eqf/9"},
        "eqf_level",
        "invalid-value",
    ),
    (
        "NQF not in the list",
        {"nqf_level": "http://data.europa.eu/snb/qdr/nope"},
        "nqf_level",
        "invalid-value",
    ),
    (
        "ISCED-F code unknown",
        {"thematic_area": "http://data.europa.eu/snb/isced-f/0699"},
        "thematic_area",
        "invalid-value",
    ),
    (
        "assessment type unknown",
        {"assessment_types": ["http://data.europa.eu/snb/assessment/0000000000"]},
        "assessment_types[0]",
        "invalid-value",
    ),
    ("no assessment type", {"assessment_types": []}, "assessment_types", "too-short"),
    (
        "mode unknown",
        {"form_of_participation": {"mode": "http://data.europa.eu/snb/learning-assessment/xx"}},
        "form_of_participation.mode",
        "invalid-value",
    ),
    (
        "learning setting unknown",
        {
            "form_of_participation": {
                "mode": "http://data.europa.eu/snb/learning-assessment/920fbb3cbe",
                "learning_setting": "informal",
            }
        },
        "form_of_participation.learning_setting",
        "invalid-value",
    ),
    (
        "QA type unknown",
        {"quality_assurance": {"type": "http://data.europa.eu/snb/accreditation/x", "body": "Q"}},
        "quality_assurance.type",
        "invalid-value",
    ),
    (
        "credit system unknown",
        {"workload": {"credit_points": [{"framework": "ECTS", "point": "5"}]}},
        "workload.credit_points[0].framework",
        "invalid-value",
    ),
    ("country not an EU NAL URI", {"issuer_country": "IE"}, "issuer_country", "invalid-value"),
    ("language not an EU NAL URI", {"language": "en"}, "language", "invalid-value"),
    (
        "ESCO URI malformed",
        {
            "learning_outcomes": [
                {"text": "x", "esco_skill": "http://data.europa.eu/esco/skill/ABC"}
            ]
        },
        "learning_outcomes[0].esco_skill",
        "invalid-value",
    ),
    ("no learning outcome", {"learning_outcomes": []}, "learning_outcomes", "too-short"),
    (
        "zero credits",
        {
            "workload": {
                "credit_points": [
                    {
                        "framework": "http://data.europa.eu/snb/education-credit/6fcec5c5af",
                        "point": "0",
                    }
                ]
            }
        },
        "workload.credit_points[0].point",
        "invalid-value",
    ),
    (
        "negative credits",
        {
            "workload": {
                "credit_points": [
                    {
                        "framework": "http://data.europa.eu/snb/education-credit/6fcec5c5af",
                        "point": "-2",
                    }
                ]
            }
        },
        "workload.credit_points[0].point",
        "invalid-value",
    ),
    (
        "credits mixed with a unit",
        {
            "workload": {
                "credit_points": [
                    {
                        "framework": "http://data.europa.eu/snb/education-credit/6fcec5c5af",
                        "point": "5 ECTS",
                    }
                ]
            }
        },
        "workload.credit_points[0].point",
        "invalid-value",
    ),
    (
        "credits as a number, not a decimal string",
        {
            "workload": {
                "credit_points": [
                    {
                        "framework": "http://data.europa.eu/snb/education-credit/6fcec5c5af",
                        "point": 5,
                    }
                ]
            }
        },
        "workload.credit_points[0].point",
        "string-type",
    ),
    (
        "hours not an ISO duration",
        {"workload": {"volume_of_learning": "125 hours"}},
        "workload.volume_of_learning",
        "invalid-value",
    ),
    (
        "zero hours",
        {"workload": {"volume_of_learning": "PT0H"}},
        "workload.volume_of_learning",
        "invalid-value",
    ),
    ("neither credits nor hours", {"workload": {}}, "workload", "workload-required"),
    (
        "same credit system twice",
        {
            "workload": {
                "credit_points": [
                    {
                        "framework": "http://data.europa.eu/snb/education-credit/6fcec5c5af",
                        "point": "5",
                    },
                    {
                        "framework": "http://data.europa.eu/snb/education-credit/6fcec5c5af",
                        "point": "6",
                    },
                ]
            }
        },
        "workload.credit_points",
        "duplicate-framework",
    ),
    (
        "issue date without a time zone",
        {"issued": "2026-01-10T10:00:00"},
        "issued",
        "invalid-value",
    ),
    ("issue date as a bare date", {"issued": "2026-01-10"}, "issued", "invalid-value"),
    ("impossible date", {"issued": "2026-02-30T10:00:00Z"}, "issued", "invalid-value"),
    (
        "issue date in the future",
        {"issued": (NOW + timedelta(days=2)).isoformat()},
        "issued",
        "date-in-future",
    ),
    (
        "awarded after issue",
        {"issued": NOW.isoformat(), "awarding_date": (NOW + timedelta(hours=1)).isoformat()},
        "awarding_date",
        "date-order",
    ),
    (
        "valid until before issue",
        {"issued": NOW.isoformat(), "valid_until": (NOW - timedelta(days=1)).isoformat()},
        "valid_until",
        "date-order",
    ),
    (
        "grade without a grading assessment",
        {"assessment_types": [ATTENDANCE]},
        "grade",
        "grade-without-grading-assessment",
    ),
    (
        "stackable without a target",
        {"stackability": {"option": "stackable"}},
        "stackability.towards",
        "stackable-needs-target",
    ),
    (
        "standalone with a target",
        {"stackability": {"option": "standalone", "towards": {"title": "MSc"}}},
        "stackability.towards",
        "standalone-has-target",
    ),
    (
        "stackability option unknown",
        {"stackability": {"option": "sometimes"}},
        "stackability.option",
        "code-list",
    ),
    (
        "supervision value unknown",
        {"supervision": "proctored by a cat"},
        "supervision",
        "code-list",
    ),
    (
        "a full degree, not a micro-credential",
        {"credential_type": "degree"},
        "credential_type",
        "code-list",
    ),
    ("a misspelt field", {"titel": "Typo"}, "titel", "extra-forbidden"),
    ("an empty title", {"title": ""}, "title", "string-too-short"),
    ("no awarding body", {"awarding_bodies": []}, "awarding_bodies", "too-short"),
    (
        "awarding body without a country",
        {"awarding_bodies": [{"legal_name": "X"}]},
        "awarding_bodies[0].country",
        "missing",
    ),
    (
        "issuer country differs from the register",
        {"issuer_country": FRANCE},
        "issuer_country",
        "issuer-mismatch",
    ),
    (
        "QA kind the issuer has no evidence for",
        {"quality_assurance": {"type": PROGRAM_QA, "body": "QQI"}},
        "quality_assurance.type",
        "qa-not-registered",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rule_violation_names_field_and_rule(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    overrides: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    problem = rejected(ledger, issuer, content(**overrides))
    assert fields(problem) == {f"command.content.{field}": rule}
    assert problem["errors"][0]["message"]


def test_learner_needs_identifier_and_name(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    with pytest.raises(ValueError, match="identifier"):
        issuer.signer.issue(content(), {"full_name": "No Identifier"})


def test_learner_born_in_the_future_is_rejected(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    learner = {**LEARNER, "date_of_birth": (NOW + timedelta(days=30)).date().isoformat()}
    problem = rejected(ledger, issuer, content(), learner)
    assert fields(problem) == {"personal_data.learner.date_of_birth": "date-in-future"}


def test_commitment_must_open_to_the_personal_data_sent(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    body["personal_data"]["learner"]["full_name"] = "Someone Else"
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.issue(body)
    assert caught.value.status == 422
    assert fields(caught.value.problem) == {
        "command.content.learner.commitment": "commitment-mismatch"
    }


def test_personal_data_is_required_to_issue(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    del body["personal_data"]
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.issue(body)
    assert fields(caught.value.problem) == {"personal_data": "missing"}


def test_all_broken_rules_are_reported_at_once(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    problem = rejected(
        ledger, issuer, content(eqf_level="http://data.europa.eu/snb/eqf/0", issuer_country="IE")
    )
    assert set(fields(problem)) == {"command.content.eqf_level", "command.content.issuer_country"}


def test_a_valid_credential_with_hours_and_no_level_is_accepted(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    body = content(workload={"volume_of_learning": "PT40H"})
    del body["eqf_level"]
    result = ledger.public.issue(issuer.signer.issue(body, LEARNER))
    assert result["status"] == "active"
