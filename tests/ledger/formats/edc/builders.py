"""Credential versions and issuers to build EDC credentials from, in every shape the ledger
accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ledger.domain import samples
from ledger.domain.codelists import ECTS, ECVET

CREDENTIAL_ID = "e4067069-c41c-529f-9075-f89f945d7df8"
ISSUER_ID = "db5cf7be-8661-58d5-996e-0e26a6f13e99"
COMMITMENT = "ab" * 32
SALT = "cd" * 32


def issuer(**overrides: Any) -> dict[str, Any]:
    return {
        "issuer_id": ISSUER_ID,
        **samples.issuer_registration("0x91d750e88a02B2090f46aa19054682b29Ffe2638"),
        "legal_identifier": {"notation": "VATIE-1234567X", "country": samples.IRELAND},
        **overrides,
    }


def content(**overrides: Any) -> dict[str, Any]:
    found = samples.credential_content(datetime(2026, 11, 1, 9, tzinfo=UTC))
    found["learner"] = {"commitment": COMMITMENT}
    found.update(overrides)
    return {k: v for k, v in found.items() if v is not None}


def minimal_content() -> dict[str, Any]:
    """Only the mandatory elements."""
    return content(
        language=None,
        eqf_level=None,
        supervision=None,
        grade=None,
        stackability=None,
        form_of_participation={"mode": "http://data.europa.eu/snb/learning-assessment/920fbb3cbe"},
        learning_outcomes=[{"text": "Explain the bias-variance trade-off."}],
    )


def full_content() -> dict[str, Any]:
    """Every optional element, several awarding bodies, ECTS and ECVET, and hours."""
    return content(
        awarding_bodies=[
            {"legal_name": "Example Technological University", "country": samples.IRELAND},
            {
                "legal_name": "Universität Beispiel",
                "country": "http://publications.europa.eu/resource/authority/country/DEU",
                "identifier": "DE-HS-0042",
            },
        ],
        issuer_region="Leinster",
        awarding_date="2026-10-30T12:00:00+00:00",
        valid_until="2031-11-01T09:00:00+00:00",
        workload={
            "credit_points": [
                {"framework": ECTS, "point": "2.5"},
                {"framework": ECVET, "point": "3"},
            ],
            "volume_of_learning": "PT62H30M",
        },
        nqf_level="http://data.europa.eu/snb/qdr/c_009d9566",
        prerequisites="A first degree in a numerate discipline,\nor equivalent experience.",
        stackability={
            "option": "stackable",
            "towards": {"title": "MSc in Data Science", "id": "ETU-MSC-DS"},
        },
        further_information="Délivré en partenariat; Zoë Παπαδοπούλου coordinated the lab.",
    )


LEARNER = {"identifier": "student-2026-0003", "full_name": "Zoë Παπαδοπούλου"}
FULL_LEARNER = {
    "identifier": "student-2026-0003",
    "full_name": "Zoë Παπαδοπούλου",
    "given_name": "Zoë",
    "family_name": "Παπαδοπούλου",
    "date_of_birth": "2001-02-03",
    "email": "zoe@example.org",
}
