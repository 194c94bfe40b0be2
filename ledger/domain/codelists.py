"""The EU controlled vocabularies the ledger validates against.

The lists are the European Learning Model code lists (EUPL 1.2, see ``codelists/LICENSE``),
shipped inside the package so that a running ledger never depends on the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
ECVET = "http://data.europa.eu/snb/education-credit/60b314e826"

# Assessment types that do not produce a grade: a grade next to only these is inconsistent.
NON_GRADING_ASSESSMENTS = frozenset(
    {
        "http://data.europa.eu/snb/assessment/7331eb4762",  # level of attendance
        "http://data.europa.eu/snb/assessment/812e3b0ae1",  # peer review
    }
)

# Named by the 2020 report's Box 5 and the 2022 Council Recommendation; no EU code list exists.
SUPERVISION_VALUES = (
    "unsupervised with no identity verification",
    "supervised with no identity verification",
    "supervised online or onsite with identity verification",
)


@dataclass(frozen=True)
class CodeList:
    """One closed vocabulary: its URIs and their English labels."""

    name: str
    labels: dict[str, str]

    def __contains__(self, uri: object) -> bool:
        return uri in self.labels

    def label(self, uri: str) -> str:
        return self.labels[uri]


@cache
def load(name: str) -> CodeList:
    """Load the code list stored as ``codelists/<name>.json``."""
    text = resources.files("ledger.domain").joinpath("codelists", f"{name}.json").read_text("utf-8")
    entries = json.loads(text)
    return CodeList(name, {entry["uri"]: entry["label"] for entry in entries})


def eqf() -> CodeList:
    return load("eqf")


def nqf() -> CodeList:
    return load("nqf")


def isced_f() -> CodeList:
    return load("isced-f")


def assessment_types() -> CodeList:
    return load("assessment-types")


def modes() -> CodeList:
    return load("modes")


def learning_settings() -> CodeList:
    return load("learning-settings")


def accreditation_types() -> CodeList:
    return load("accreditation-types")


def credit_systems() -> CodeList:
    return load("credit-points")


def countries() -> CodeList:
    return load("countries")


def languages() -> CodeList:
    return load("languages")
