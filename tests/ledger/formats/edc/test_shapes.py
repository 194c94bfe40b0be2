"""Every EDC credential the ledger builds conforms to the EU's generic-full shapes (pySHACL,
local contexts and shapes); the shapes do find what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.formats.edc.credential import edc_credential
from ledger.formats.edc.shapes import violations
from tests.ledger.formats.edc import builders

SAMPLES = Path(__file__).parent / "commission-samples"


def build(
    content: dict[str, Any],
    learner: dict[str, Any],
    parts: list[dict[str, Any]] | None = None,
    **issuer: Any,
) -> dict[str, Any]:
    return edc_credential(
        credential_id=builders.CREDENTIAL_ID,
        version=2,
        content=content,
        learner=learner,
        salt=builders.SALT,
        issuer=builders.issuer(**issuer),
        parts=parts or [],
    )


def stacked() -> dict[str, Any]:
    """A credential stacked from two versions of other credentials."""
    return builders.content(
        has_part=[
            {"credential_id": "0b7f3c1e-5d2a-5e8f-9c4b-2a1d3e4f5a6b", "version": "1"},
            {"credential_id": "7c9e2a4b-1f3d-5b6a-8e7c-9d0f1a2b3c4d", "version": "3"},
        ],
        recognition_id="5a4b3c2d-1e0f-5a9b-8c7d-6e5f4a3b2c1d",
    )


@pytest.mark.parametrize(
    ("content", "learner"),
    [
        (builders.content(), builders.LEARNER),
        (builders.minimal_content(), builders.LEARNER),
        (builders.full_content(), builders.FULL_LEARNER),
        (
            builders.content(
                language="http://publications.europa.eu/resource/authority/language/GLE",
                title="Meaisínfhoghlaim Fheidhmeach",
                supervision="unsupervised with no identity verification",
                workload={"volume_of_learning": "PT40H"},
            ),
            builders.LEARNER,
        ),
        (
            builders.content(grade=None, stackability={"option": "standalone"}),
            builders.FULL_LEARNER,
        ),
    ],
    ids=["sample", "mandatory-only", "every-optional", "irish-hours", "ungraded-standalone"],
)
def test_a_built_credential_has_no_violation(
    content: dict[str, Any], learner: dict[str, Any]
) -> None:
    assert violations(build(content, learner)) == []


def test_an_issuer_without_several_quality_assurances_or_region_conforms() -> None:
    credential = build(builders.content(), builders.LEARNER, region=None, quality_assurance=[])
    assert violations(credential) == []


def test_a_credential_without_its_issue_date_or_legal_identifier_is_named() -> None:
    credential = build(builders.content(), builders.LEARNER)
    del credential["issued"]
    del credential["issuer"]["eIDASIdentifier"]
    paths = {violation.path.rsplit("/", 1)[-1] for violation in violations(credential)}
    assert {"credentials#issued", "eidasLegalIdentifier"} <= paths


def test_a_stacked_credential_has_its_parts_as_achievements_without_violation() -> None:
    parts = [builders.minimal_content(), builders.full_content()]
    credential = build(stacked(), builders.LEARNER, parts)
    (claim,) = credential["credentialSubject"]["hasClaim"]
    assert [part["id"] for part in claim["hasPart"]] == [
        "urn:credledger:0b7f3c1e-5d2a-5e8f-9c4b-2a1d3e4f5a6b:v1#achievement-1",
        "urn:credledger:7c9e2a4b-1f3d-5b6a-8e7c-9d0f1a2b3c4d:v3#achievement-1",
    ]
    bodies = claim["hasPart"][1]["awardedBy"]["awardingBody"]
    assert [body["legalName"] for body in bodies] == [
        {"en": "Example Technological University"},
        {"en": "Universität Beispiel"},
    ]
    assert violations(credential) == []


def test_a_stacked_credential_is_not_built_without_the_content_of_each_part() -> None:
    with pytest.raises(ValueError):
        build(stacked(), builders.LEARNER, [builders.content()])


def test_the_commissions_sealed_sample_conforms() -> None:
    sealed = json.loads((SAMPLES / "Sample-MC-Annex1-signed.jsonld").read_text("utf-8"))
    assert violations(json.loads(sealed["payload"])) == []


def test_the_commissions_older_unsigned_sample_has_its_three_known_violations() -> None:
    unsigned = json.loads((SAMPLES / "Sample-MC-Annex1-unsigned.jsonld").read_text("utf-8"))
    assert len(violations(unsigned)) == 3
