"""Every validation rule for an issue command, each with a failing example.

A rejection is a 422 problem document that names the field and the rule it broke.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.client import LedgerRequestError
from ledger.domain.canonical import canonical_bytes
from ledger.domain.samples import ECTS
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


def resigned(issuer: RegisteredIssuer, body: dict[str, Any]) -> dict[str, Any]:
    """The request with its command signed again as it now stands (the client library would
    have normalised what a hostile or careless client sends as is)."""
    body["signature"] = issuer.key.sign(canonical_bytes(body["command"]))
    return body


SKILL = "http://data.europa.eu/esco/skill/0b8f5e3c-9d1a-4c1e-8f7a-2b3c4d5e6f70"
HOSTILE = [
    ("NUL, RLO and script", ["title"], "\x00\u202e<script>", "control character U+0000"),
    ("right-to-left override", ["title"], "Applied \u202eML", "bidirectional control"),
    ("a title of spaces", ["title"], "   ", "blank"),
    ("a line feed in a title", ["title"], "Applied\nML", "control character U+000A"),
    ("decomposed (NFD) text", ["title"], "Cafe\u0301 management", "NFC"),
    ("points of 309 digits", ["workload", "credit_points", 0, "point"], "1" + "0" * 308, "ASCII"),
    ("points with a line feed", ["workload", "credit_points", 0, "point"], "5\n", "ASCII"),
    ("points in Arabic digits", ["workload", "credit_points", 0, "point"], "\u0665", "ASCII"),
    ("more points than a year", ["workload", "credit_points", 0, "point"], "61", "at most 60"),
    ("volume with a line feed", ["workload", "volume_of_learning"], "PT40H\n", "ISO 8601"),
    ("volume beyond a year", ["workload", "volume_of_learning"], "PT2000H", "at most 1800"),
    ("skill with a line feed", ["learning_outcomes", 0, "esco_skill"], SKILL + "\n", "ESCO"),
    (
        "skill of dashes",
        ["learning_outcomes", 0, "esco_skill"],
        "http://data.europa.eu/esco/skill/" + "-" * 36,
        "ESCO",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "reason"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_a_value_that_would_be_anchored_for_ever_is_refused_with_field_and_reason(
    ledger: RunningLedger, issuer: RegisteredIssuer, path: list[Any], value: str, reason: str
) -> None:
    body = issuer.signer.issue(
        content(
            workload={"credit_points": [{"framework": ECTS, "point": "5"}]},
            learning_outcomes=[{"text": "Trains a model", "esco_skill": SKILL}],
        ),
        LEARNER,
    )
    if path[0] == "workload" and path[1] == "volume_of_learning":
        body["command"]["content"]["workload"] = {"volume_of_learning": "PT40H"}
    target = body["command"]["content"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.issue(resigned(issuer, body))
    assert caught.value.status == 422, caught.value.problem
    (error,) = caught.value.problem["errors"]
    where = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
    assert error["field"] == f"command.content.{where}"
    assert reason in error["message"]


def test_learner_data_in_nfd_is_refused_before_any_commitment(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    body["personal_data"]["learner"]["full_name"] = "Zoe\u0308 Martin"
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.issue(body)
    assert caught.value.problem["errors"][0]["field"] == "personal_data.learner.full_name"
    assert "NFC" in caught.value.problem["errors"][0]["message"]


def test_the_client_commits_to_one_spelling_of_a_name_in_nfc_or_nfd(
    issuer: RegisteredIssuer,
) -> None:
    composed = issuer.signer.issue(content(), {**LEARNER, "full_name": "Zoë"}, command_id="c-1")
    decomposed = issuer.signer.issue(
        content(), {**LEARNER, "full_name": "Zoe\u0308"}, command_id="c-1"
    )
    commitment = composed["command"]["content"]["learner"]["commitment"]
    assert decomposed["command"]["content"]["learner"]["commitment"] == commitment


def test_a_small_code_list_is_named_in_full_when_a_value_is_not_in_it(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    online = "http://data.europa.eu/snb/learning-schedule/online"
    problem = rejected(ledger, issuer, content(form_of_participation={"mode": online}))
    message = problem["errors"][0]["message"]
    assert "EU code list of modes of learning (modes); allowed:" in message
    assert "http://data.europa.eu/snb/learning-assessment/920fbb3cbe (Online)" in message


def test_a_large_code_list_is_pointed_to(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    problem = rejected(ledger, issuer, content(thematic_area="http://example.org/field"))
    assert "GET /codelists/labels?list=isced-f" in problem["errors"][0]["message"]
