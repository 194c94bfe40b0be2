"""An example micro-credential and issuer, used by ``credledger demo`` and the docs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain.codelists import ECTS

IRELAND = "http://publications.europa.eu/resource/authority/country/IRL"
ISSUER_NAME = "Example Technological University"
# The organisation identifier on its seal certificate (ETSI EN 319 412-1): its eIDAS legal
# identifier in EDC credentials.
ISSUER_LEGAL_IDENTIFIER = "VATIE-1234567X"
INSTITUTIONAL_QA = "http://data.europa.eu/snb/accreditation/bb4618238e"


def issuer_registration(address: str) -> dict[str, Any]:
    """A university admitted to the register with institutional quality assurance."""
    return {
        "legal_name": ISSUER_NAME,
        "country": IRELAND,
        "region": "Leinster",
        "quality_assurance": [
            {
                "type": INSTITUTIONAL_QA,
                "body": "Quality and Qualifications Ireland",
                "reference": "https://www.deqar.eu/institutions/example",
            }
        ],
        "address": address,
    }


def credential_content(issued: datetime, title: str = "Applied Machine Learning") -> dict[str, Any]:
    """Every constitutive element of a 5 ECTS micro-credential, learner left out."""
    return {
        "credential_type": "micro-credential",
        "title": title,
        "language": "http://publications.europa.eu/resource/authority/language/ENG",
        "issuer_country": IRELAND,
        "awarding_bodies": [{"legal_name": "Example Technological University", "country": IRELAND}],
        "issued": issued.isoformat(timespec="seconds"),
        "learning_outcomes": [
            {
                "text": "Train, evaluate and compare supervised learning models.",
                "esco_skill": "http://data.europa.eu/esco/skill/21d2f96d-35f7-4e3f-9745-c533d2dd6e97",
            },
            {"text": "Explain the bias-variance trade-off to a non-specialist audience."},
        ],
        "workload": {"credit_points": [{"framework": ECTS, "point": "5"}]},
        "eqf_level": "http://data.europa.eu/snb/eqf/6",
        "thematic_area": "http://data.europa.eu/snb/isced-f/0613",
        "assessment_types": ["http://data.europa.eu/snb/assessment/795dac4096"],
        "form_of_participation": {
            "mode": "http://data.europa.eu/snb/learning-assessment/920fbb3cbe",
            "learning_setting": "http://data.europa.eu/snb/learning-setting/6fd4685715",
        },
        "quality_assurance": {
            "type": INSTITUTIONAL_QA,
            "body": "Quality and Qualifications Ireland",
        },
        "supervision": "supervised online or onsite with identity verification",
        "grade": {"value": "A", "scheme": "A-F"},
        "stackability": {
            "option": "stackable",
            "towards": {"title": "MSc in Data Science"},
        },
    }


LEARNERS: tuple[dict[str, str], ...] = (
    {"identifier": "student-2026-0001", "full_name": "Aoife Ní Bhriain"},
    {"identifier": "student-2026-0002", "full_name": "Jürgen Groß"},
    {"identifier": "student-2026-0003", "full_name": "Zoë Παπαδοπούλου"},
)
