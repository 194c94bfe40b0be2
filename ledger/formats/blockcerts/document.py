"""The learner's credential document: W3C VC 2.0 + Blockcerts v3 JSON-LD, ELM-aligned.

One document per credential version (issue and each amendment). It carries every constitutive
element under European Learning Model terms (defined in an inline context, so a verifier needs
no network to canonicalize it), the learner's identification as the holder's own data, and the
salt that opens the version's public commitment: the holder can show that the learner named
in the document is the one the public history commits to, and the salt (32 random bytes)
keeps the document's hash from being guessed from the public history.

The document is rebuilt on demand from the stored event, the sealed personal data and what
the batch's anchor recorded; its hash is checked against the anchored leaf each time.
"""

from __future__ import annotations

import uuid
from typing import Any

from anchors.jsonld import BLOCKCERTS_V3_2, VC_V2

_DOCUMENT_NS = uuid.UUID("5b0c3e52-7a43-4c6e-9c7e-4f1d2a9e8c11")

ELM = "http://data.europa.eu/snb/model/elm/"
# Terms of this ledger that ELM has no word for (the learner commitment, the version).
LEDGER_VOCAB = "urn:credledger:vocab:"

_ID = {"@type": "@id"}


def _elm(term: str, **extra: Any) -> dict[str, Any]:
    return {"@id": f"elm:{term}", **extra}


ELM_CONTEXT: dict[str, Any] = {
    "elm": ELM,
    "cl": LEDGER_VOCAB,
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "EuropeanDigitalCredential": "elm:EuropeanDigitalCredential",
    "Person": "elm:Person",
    "Identifier": "elm:Identifier",
    "LearningAchievement": "elm:LearningAchievement",
    "LearningAchievementSpecification": "elm:LearningAchievementSpecification",
    "AwardingProcess": "elm:AwardingProcess",
    "Organisation": "elm:Organisation",
    "Location": "elm:Location",
    "Address": "elm:Address",
    "LearningOutcome": "elm:LearningOutcome",
    "CreditPoint": "elm:CreditPoint",
    "LearningAssessment": "elm:LearningAssessment",
    "LearningAssessmentSpecification": "elm:LearningAssessmentSpecification",
    "Accreditation": "elm:Accreditation",
    "Note": "elm:Note",
    "LearnerCommitment": "cl:LearnerCommitment",
    "issued": _elm("issued", **{"@type": "xsd:dateTime"}),
    "identifier": _elm("identifier"),
    "notation": _elm("notation"),
    "fullName": _elm("fullName"),
    "givenName": _elm("givenName"),
    "familyName": _elm("familyName"),
    "dateOfBirth": _elm("dateOfBirth", **{"@type": "xsd:date"}),
    "emailAddress": _elm("emailAddress"),
    "hasClaim": _elm("hasClaim"),
    "title": _elm("title"),
    "awardedBy": _elm("awardedBy"),
    "awardingBody": _elm("awardingBody"),
    "awardingDate": _elm("awardingDate", **{"@type": "xsd:dateTime"}),
    "legalName": _elm("legalName"),
    "location": _elm("location"),
    "address": _elm("address"),
    "countryCode": _elm("countryCode", **_ID),
    "spatialCode": _elm("spatialCode"),
    "specifiedBy": _elm("specifiedBy"),
    "language": _elm("language", **_ID),
    "creditPoint": _elm("creditPoint"),
    "framework": _elm("framework", **_ID),
    "point": _elm("point"),
    "volumeOfLearning": _elm("volumeOfLearning", **{"@type": "xsd:duration"}),
    "eqfLevel": _elm("eqfLevel", **_ID),
    "nqfLevel": _elm("nqfLevel", **_ID),
    "thematicArea": _elm("thematicArea", **_ID),
    "learningOutcome": _elm("learningOutcome"),
    "relatedESCOSkill": _elm("relatedESCOSkill", **_ID),
    "mode": _elm("mode", **_ID),
    "learningSetting": _elm("learningSetting", **_ID),
    "entryRequirement": _elm("entryRequirement"),
    "noteLiteral": _elm("noteLiteral"),
    "provenBy": _elm("provenBy"),
    "dcType": _elm("dcType", **_ID),
    "idVerification": _elm("idVerification"),
    "grade": _elm("grade"),
    "gradingScheme": _elm("gradingScheme"),
    "accreditation": _elm("accreditation"),
    "accreditingAgent": _elm("accreditingAgent"),
    "homepage": _elm("homepage", **_ID),
    "isPartOf": _elm("isPartOf"),
    "hasPart": _elm("hasPart"),
    "additionalNote": _elm("additionalNote"),
    "stackability": {"@id": "cl:stackability"},
    "learnerCommitment": {"@id": "cl:learnerCommitment"},
    "commitment": {"@id": "cl:commitment"},
    "salt": {"@id": "cl:salt"},
    "credentialVersion": {"@id": "cl:credentialVersion", "@type": "xsd:integer"},
    "ledgerCredentialId": {"@id": "cl:ledgerCredentialId"},
    "recognitionId": {"@id": "cl:recognitionId"},
}

CONTEXT: list[Any] = [VC_V2, BLOCKCERTS_V3_2, ELM_CONTEXT]


def document_id(credential_id: str, version: int) -> str:
    """The document's ``id``: fixed by the credential and version, so it never changes."""
    return f"urn:uuid:{uuid.uuid5(_DOCUMENT_NS, f'{credential_id}/{version}')}"


def _note(text: str) -> dict[str, Any]:
    return {"type": "Note", "noteLiteral": text}


_LEARNER_TERMS = (
    ("given_name", "givenName"),
    ("family_name", "familyName"),
    ("date_of_birth", "dateOfBirth"),
    ("email", "emailAddress"),
)


def _subject(learner: dict[str, Any], commitment: str, salt: str) -> dict[str, Any]:
    subject: dict[str, Any] = {
        "type": "Person",
        "identifier": {"type": "Identifier", "notation": learner["identifier"]},
        "name": learner["full_name"],
        "fullName": learner["full_name"],
    }
    for key, term in _LEARNER_TERMS:
        if learner.get(key) is not None:
            subject[term] = str(learner[key])
    subject["learnerCommitment"] = {
        "type": "LearnerCommitment",
        "commitment": commitment,
        "salt": salt,
    }
    return subject


def held_learner(document: dict[str, Any]) -> tuple[dict[str, str], str, str] | None:
    """The learner's data, commitment and salt a document carries (the inverse of what
    :func:`credential_document` writes), or None if the document does not carry them."""
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        return None
    identifier = subject.get("identifier")
    opening = subject.get("learnerCommitment")
    if not isinstance(identifier, dict) or not isinstance(opening, dict):
        return None
    found = {"identifier": identifier.get("notation"), "full_name": subject.get("fullName")}
    for key, term in _LEARNER_TERMS:
        if subject.get(term) is not None:
            found[key] = subject[term]
    commitment, salt = opening.get("commitment"), opening.get("salt")
    learner = {key: value for key, value in found.items() if isinstance(value, str)}
    if len(learner) != len(found) or not isinstance(commitment, str) or not isinstance(salt, str):
        return None
    return learner, commitment, salt


def _specification(content: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "type": "LearningAchievementSpecification",
        "title": content["title"],
        "learningOutcome": [
            {
                "type": "LearningOutcome",
                "title": outcome["text"],
                **(
                    {"relatedESCOSkill": outcome["esco_skill"]} if outcome.get("esco_skill") else {}
                ),
            }
            for outcome in content["learning_outcomes"]
        ],
        "thematicArea": content["thematic_area"],
        "mode": content["form_of_participation"]["mode"],
    }
    workload = content["workload"]
    if workload.get("credit_points"):
        spec["creditPoint"] = [
            {"type": "CreditPoint", "framework": cp["framework"], "point": cp["point"]}
            for cp in workload["credit_points"]
        ]
    if workload.get("volume_of_learning"):
        spec["volumeOfLearning"] = workload["volume_of_learning"]
    optional = (
        ("eqf_level", "eqfLevel"),
        ("nqf_level", "nqfLevel"),
        ("language", "language"),
    )
    for key, term in optional:
        if content.get(key):
            spec[term] = content[key]
    setting = content["form_of_participation"].get("learning_setting")
    if setting:
        spec["learningSetting"] = setting
    if content.get("prerequisites"):
        spec["entryRequirement"] = _note(content["prerequisites"])
    qa = content["quality_assurance"]
    spec["accreditation"] = {
        "type": "Accreditation",
        "dcType": qa["type"],
        "title": qa["body"],
        "accreditingAgent": {"type": "Organisation", "legalName": qa["body"]},
        **({"homepage": qa["reference"]} if qa.get("reference") else {}),
    }
    return spec


def _awarding(content: dict[str, Any]) -> dict[str, Any]:
    bodies = []
    for body in content["awarding_bodies"]:
        organisation: dict[str, Any] = {
            "type": "Organisation",
            "legalName": body["legal_name"],
            "location": {
                "type": "Location",
                "address": {"type": "Address", "countryCode": body["country"]},
            },
        }
        if body.get("identifier"):
            organisation["identifier"] = {"type": "Identifier", "notation": body["identifier"]}
        bodies.append(organisation)
    process: dict[str, Any] = {"type": "AwardingProcess", "awardingBody": bodies}
    if content.get("awarding_date"):
        process["awardingDate"] = content["awarding_date"]
    return process


def _assessment(content: dict[str, Any]) -> dict[str, Any]:
    assessment: dict[str, Any] = {
        "type": "LearningAssessment",
        "title": "Assessment",
        "specifiedBy": {
            "type": "LearningAssessmentSpecification",
            "dcType": list(content["assessment_types"]),
        },
    }
    if content.get("supervision"):
        assessment["idVerification"] = content["supervision"]
    grade = content.get("grade")
    if grade:
        assessment["grade"] = _note(grade["value"])
        if grade.get("scheme"):
            assessment["specifiedBy"]["gradingScheme"] = _note(grade["scheme"])
    return assessment


def _claim(content: dict[str, Any]) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "type": "LearningAchievement",
        "title": content["title"],
        "awardedBy": _awarding(content),
        "specifiedBy": _specification(content),
        "provenBy": [_assessment(content)],
    }
    stack = content.get("stackability")
    if stack:
        claim["stackability"] = stack["option"]
        if stack.get("towards"):
            towards = stack["towards"]
            claim["isPartOf"] = {
                "type": "LearningAchievementSpecification",
                "title": towards["title"],
                **(
                    {"identifier": {"type": "Identifier", "notation": towards["id"]}}
                    if towards.get("id")
                    else {}
                ),
            }
    if content.get("has_part"):
        # A stacked credential: the achievements it was recognised from, each by its own
        # document's id, and the recognition decision that counted them.
        claim["hasPart"] = [
            {
                "id": document_id(part["credential_id"], int(part["version"])),
                "type": "LearningAchievement",
                "ledgerCredentialId": part["credential_id"],
                "credentialVersion": int(part["version"]),
            }
            for part in content["has_part"]
        ]
        claim["recognitionId"] = content["recognition_id"]
    if content.get("further_information"):
        claim["additionalNote"] = _note(content["further_information"])
    return claim


def credential_document(
    *,
    credential_id: str,
    version: int,
    content: dict[str, Any],
    learner: dict[str, Any],
    salt: str,
    issuer_profile_url: str,
) -> dict[str, Any]:
    """The document of one credential version, without its proof."""
    subject = _subject(learner, content["learner"]["commitment"], salt)
    subject["hasClaim"] = _claim(content)
    issuer_location: dict[str, Any] = {
        "type": "Location",
        "address": {"type": "Address", "countryCode": content["issuer_country"]},
    }
    if content.get("issuer_region"):
        issuer_location["spatialCode"] = content["issuer_region"]
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": document_id(credential_id, version),
        "type": ["VerifiableCredential", "BlockcertsCredential", "EuropeanDigitalCredential"],
        "issuer": {"id": issuer_profile_url, "type": "Organisation", "location": issuer_location},
        "name": content["title"],
        "issued": content["issued"],
        "validFrom": content["issued"],
        "ledgerCredentialId": credential_id,
        "credentialVersion": version,
        "credentialSubject": subject,
    }
    if content.get("valid_until"):
        document["validUntil"] = content["valid_until"]
    return document
