"""A credential version as a European Digital Credential: ELM v3, the EDC generic-full profile.

Built from what the ledger holds and nothing else: the version's signed content (the EU
constitutive elements, as code-list URIs), the learner's sealed data, and the issuer's entry in
the register. Every node has an id under the credential's own (``urn:credledger:…``), so the
same version always gives the same credential, byte for byte (the seal is over those bytes).
The mapping of each element to its ELM property is in the README ("Europass EDC").
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import Any

from ledger.formats.edc.concepts import concept, language_tag

VC_V1 = "https://www.w3.org/2018/credentials/v1"
EDC_AP = "http://data.europa.eu/snb/model/context/edc-ap"
CONTEXT = [VC_V1, EDC_AP]
PROFILE = "http://data.europa.eu/snb/model/ap/edc-generic-full"
GENERIC_PROFILE = "http://data.europa.eu/snb/credential/e34929035b"
BASE64 = "http://data.europa.eu/snb/encoding/6146cde7dd"
SVG = "http://publications.europa.eu/resource/authority/file-type/SVG"
# The one supervision value whose EDC concept is known (the Commission's own sample uses it);
# the others are concepts of the ledger's scheme, labelled with the ledger's text.
_SUPERVISION = {
    "unsupervised with no identity verification": (
        "http://data.europa.eu/snb/supervision-verification/c598449d64"
    ),
}
SUPERVISION_SCHEME = "http://data.europa.eu/snb/supervision-verification/25831c2"
LEDGER_SUPERVISION_SCHEME = "urn:credledger:supervision"
# Schemes of the identifiers the ledger adds: the learner's commitment and its salt, so that
# a holder can show that this credential names the learner the public history commits to.
COMMITMENT_SCHEME = "urn:credledger:learner-commitment"
SALT_SCHEME = "urn:credledger:learner-commitment-salt"
LEARNER_ID_SCHEME = "urn:credledger:learner-identifier"
STACKABILITY_NOTE = "urn:credledger:note-type:stackability"
RECOGNITION_NOTE = "urn:credledger:note-type:recognition"
FURTHER_INFORMATION_NOTE = "urn:credledger:note-type:further-information"


def credential_urn(credential_id: str, version: int) -> str:
    """The EDC credential's id: the ledger's credential id and version."""
    return f"urn:credledger:{credential_id}:v{version}"


def credential_reference(urn: str) -> tuple[str, int] | None:
    """The (credential id, version) an EDC credential's id names, or None if it names none."""
    prefix, _, rest = urn.partition("urn:credledger:")
    credential_id, _, version = rest.rpartition(":v")
    if prefix or not credential_id or not version.isdigit() or len(version) > 9:
        return None
    return credential_id, int(version)


class _Nodes:
    """Ids for the nodes of one credential: ``<credential urn>#<kind>-<n>``."""

    def __init__(self, base: str) -> None:
        self._base = base
        self._counts: dict[str, int] = {}

    def __call__(self, kind: str) -> str:
        self._counts[kind] = self._counts.get(kind, 0) + 1
        return f"{self._base}#{kind}-{self._counts[kind]}"


def achievement_urn(credential_id: str, version: int) -> str:
    """The id of a credential version's learning achievement: the node a stacked credential's
    ``hasPart`` names."""
    return f"{credential_urn(credential_id, version)}#achievement-1"


class _Builder:
    def __init__(
        self,
        urn: str,
        content: dict[str, Any],
        issuer: dict[str, Any],
        tag: str,
        parts: Sequence[dict[str, Any]],
    ) -> None:
        self.node = _Nodes(urn)
        self.content = content
        self.issuer = issuer
        self.tag = tag
        self.parts = parts

    def text(self, value: str) -> dict[str, str]:
        return {self.tag: value}

    def note(self, value: str, note_type: str | None = None) -> dict[str, Any]:
        note: dict[str, Any] = {
            "id": self.node("note"),
            "type": "Note",
            "noteLiteral": self.text(value),
        }
        if note_type is not None:
            note["subject"] = {
                "id": note_type,
                "type": "Concept",
                "inScheme": {"id": "urn:credledger:note-type", "type": "ConceptScheme"},
                "prefLabel": {"en": note_type.rsplit(":", 1)[-1].replace("-", " ")},
            }
        return note

    def location(self, country: str, region: str | None = None) -> dict[str, Any]:
        location: dict[str, Any] = {
            "id": self.node("location"),
            "type": "Location",
            "address": {
                "id": self.node("address"),
                "type": "Address",
                "countryCode": concept(country),
            },
        }
        if region:
            location["description"] = self.text(region)
        return location

    def legal_identifier(self, notation: str, country: str) -> dict[str, Any]:
        return {
            "id": self.node("legal-identifier"),
            "type": "LegalIdentifier",
            "notation": notation,
            "spatial": concept(country),
        }

    def issuer_organisation(self) -> dict[str, Any]:
        issuer = self.issuer
        legal = issuer["legal_identifier"]
        organisation: dict[str, Any] = {
            "id": f"urn:credledger:issuer:{issuer['issuer_id']}",
            "type": "Organisation",
            "legalName": self.text(issuer["legal_name"]),
            "eIDASIdentifier": self.legal_identifier(legal["notation"], legal["country"]),
            "registration": self.legal_identifier(legal["notation"], legal["country"]),
            "location": [self.location(issuer["country"], issuer.get("region"))],
            "accreditation": [self.accreditation(qa) for qa in issuer["quality_assurance"]],
        }
        return organisation

    def accreditation(self, qa: dict[str, Any]) -> dict[str, Any]:
        # The register does not record the QA body's country: quality assurance under the
        # Council Recommendation is the issuer's national framework, so its country stands in.
        accreditation: dict[str, Any] = {
            "id": self.node("accreditation"),
            "type": "Accreditation",
            "dcType": concept(qa["type"]),
            "title": self.text(qa["body"]),
            "accreditingAgent": {
                "id": self.node("org"),
                "type": "Organisation",
                "legalName": self.text(qa["body"]),
                "location": [self.location(self.issuer["country"])],
            },
        }
        if qa.get("reference"):
            accreditation["homepage"] = [
                {
                    "id": self.node("web-resource"),
                    "type": "WebResource",
                    "contentURL": qa["reference"],
                }
            ]
        return accreditation

    def awarding(self, content: dict[str, Any] | None = None) -> dict[str, Any]:
        """The awarding process of this credential's achievement, or of a part's (``content``:
        the part's version, its texts in its own language)."""
        content = content or self.content
        tag = language_tag(content.get("language"))
        bodies = []
        for body in content["awarding_bodies"]:
            organisation: dict[str, Any] = {
                "id": self.node("org"),
                "type": "Organisation",
                "legalName": {tag: body["legal_name"]},
                "location": [self.location(body["country"])],
            }
            if body.get("identifier"):
                organisation["identifier"] = [
                    {
                        "id": self.node("identifier"),
                        "type": "Identifier",
                        "notation": body["identifier"],
                    }
                ]
            bodies.append(organisation)
        process: dict[str, Any] = {
            "id": self.node("awarding-process"),
            "type": "AwardingProcess",
            "awardingBody": bodies,
        }
        if content.get("awarding_date"):
            process["awardingDate"] = content["awarding_date"]
        return process

    def part(self, reference: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        """A component of a stacked credential: the achievement of the version it names (that
        version's own node id), with its title and awarding bodies from that version."""
        return {
            "id": achievement_urn(reference["credential_id"], int(reference["version"])),
            "type": "LearningAchievement",
            "title": {language_tag(content.get("language")): content["title"]},
            "awardedBy": self.awarding(content),
        }

    def supervision(self, text: str) -> dict[str, Any]:
        known = _SUPERVISION.get(text)
        if known is not None:
            return {
                "id": known,
                "type": "Concept",
                "inScheme": {"id": SUPERVISION_SCHEME, "type": "ConceptScheme"},
                "prefLabel": {"en": "Unsupervised without ID Verification"},
            }
        return {
            "id": f"{LEDGER_SUPERVISION_SCHEME}:{text.replace(' ', '-')}",
            "type": "Concept",
            "inScheme": {"id": LEDGER_SUPERVISION_SCHEME, "type": "ConceptScheme"},
            "prefLabel": {"en": text},
        }

    def assessment(self, awarded_by: dict[str, Any]) -> dict[str, Any]:
        content = self.content
        grade = content.get("grade")
        specification: dict[str, Any] = {
            "id": self.node("assessment-specification"),
            "type": "LearningAssessmentSpecification",
            "title": self.text("Assessment"),
            "dcType": [concept(uri) for uri in content["assessment_types"]],
        }
        if grade and grade.get("scheme"):
            specification["gradingScheme"] = {
                "id": self.node("grading-scheme"),
                "type": "GradingScheme",
                "title": self.text(grade["scheme"]),
            }
        assessment: dict[str, Any] = {
            "id": self.node("assessment"),
            "type": "LearningAssessment",
            "title": self.text("Assessment"),
            # ELM requires a grade; where the issuer records none, the note says so.
            "grade": self.note(grade["value"] if grade else "Not graded"),
            "awardedBy": awarded_by,
            "specifiedBy": specification,
        }
        if content.get("supervision"):
            assessment["idVerification"] = self.supervision(content["supervision"])
        return assessment

    def specification(self) -> dict[str, Any]:
        content = self.content
        participation = content["form_of_participation"]
        spec: dict[str, Any] = {
            "id": self.node("achievement-specification"),
            "type": "LearningAchievementSpecification",
            "title": self.text(content["title"]),
            "learningOutcome": [self.outcome(outcome) for outcome in content["learning_outcomes"]],
            "thematicArea": [concept(content["thematic_area"])],
            "mode": [concept(participation["mode"])],
        }
        workload = content["workload"]
        if workload.get("credit_points"):
            spec["creditPoint"] = [
                {
                    "id": self.node("credit-point"),
                    "type": "CreditPoint",
                    "framework": concept(credit["framework"]),
                    "point": credit["point"],
                }
                for credit in workload["credit_points"]
            ]
        if workload.get("volume_of_learning"):
            spec["volumeOfLearning"] = workload["volume_of_learning"]
        if content.get("eqf_level"):
            spec["eqfLevel"] = concept(content["eqf_level"])
        if content.get("nqf_level"):
            spec["nqfLevel"] = [concept(content["nqf_level"])]
        if content.get("language"):
            spec["language"] = [concept(content["language"])]
        if participation.get("learning_setting"):
            spec["learningSetting"] = concept(participation["learning_setting"])
        if content.get("prerequisites"):
            spec["entryRequirement"] = self.note(content["prerequisites"])
        return spec

    def outcome(self, outcome: dict[str, Any]) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": self.node("learning-outcome"),
            "type": "LearningOutcome",
            "title": self.text(outcome["text"]),
        }
        if outcome.get("esco_skill"):
            node["relatedESCOSkill"] = [
                {
                    "id": outcome["esco_skill"],
                    "type": "Concept",
                    "inScheme": {
                        "id": "http://data.europa.eu/esco/concept-scheme/skills",
                        "type": "ConceptScheme",
                    },
                }
            ]
        return node

    def claim(self) -> dict[str, Any]:
        content = self.content
        awarded_by = self.awarding()
        claim: dict[str, Any] = {
            "id": self.node("achievement"),
            "type": "LearningAchievement",
            "title": self.text(content["title"]),
            "awardedBy": awarded_by,
            "specifiedBy": self.specification(),
            "provenBy": [self.assessment(awarded_by)],
        }
        notes = []
        stack = content.get("stackability")
        if stack:
            towards = stack.get("towards")
            if towards:
                target: dict[str, Any] = {
                    "id": self.node("stacking-target"),
                    "type": "LearningAchievementSpecification",
                    "title": self.text(towards["title"]),
                }
                if towards.get("id"):
                    target["identifier"] = [
                        {
                            "id": self.node("identifier"),
                            "type": "Identifier",
                            "notation": towards["id"],
                        }
                    ]
                claim["specifiedBy"]["isPartOf"] = [target]
            notes.append(self.note(stack["option"], STACKABILITY_NOTE))
        if content.get("has_part"):
            claim["hasPart"] = [
                self.part(reference, part)
                for reference, part in zip(content["has_part"], self.parts, strict=True)
            ]
            notes.append(
                self.note(
                    f"Recognised from its parts by the decision {content['recognition_id']} "
                    "recorded in the ledger.",
                    RECOGNITION_NOTE,
                )
            )
        if content.get("further_information"):
            notes.append(self.note(content["further_information"], FURTHER_INFORMATION_NOTE))
        if notes:
            claim["additionalNote"] = notes
        return claim

    def subject(self, learner: dict[str, Any], commitment: str, salt: str) -> dict[str, Any]:
        person: dict[str, Any] = {
            "id": self.node("person"),
            "type": "Person",
            "identifier": [
                self.identifier(learner["identifier"], LEARNER_ID_SCHEME),
                self.identifier(commitment, COMMITMENT_SCHEME),
                self.identifier(salt, SALT_SCHEME),
            ],
            "fullName": self.text(learner["full_name"]),
        }
        if learner.get("given_name"):
            person["givenName"] = self.text(learner["given_name"])
        if learner.get("family_name"):
            person["familyName"] = self.text(learner["family_name"])
        if learner.get("date_of_birth"):
            person["dateOfBirth"] = f"{learner['date_of_birth']}T00:00:00Z"
        if learner.get("email"):
            person["contactPoint"] = [
                {
                    "id": self.node("contact-point"),
                    "type": "ContactPoint",
                    "emailAddress": [{"id": f"mailto:{learner['email']}", "type": "Mailbox"}],
                }
            ]
        person["hasClaim"] = [self.claim()]
        return person

    def identifier(self, notation: str, scheme: str) -> dict[str, Any]:
        return {
            "id": self.node("identifier"),
            "type": "Identifier",
            "notation": notation,
            "schemeName": scheme,
        }

    def display(self, learner: dict[str, Any]) -> dict[str, Any]:
        language = concept(self.content.get("language") or _ENGLISH)
        image = _face(self.content["title"], learner["full_name"], self.issuer["legal_name"])
        return {
            "id": self.node("display-parameter"),
            "type": "DisplayParameter",
            "title": self.text(self.content["title"]),
            "language": [language],
            "primaryLanguage": language,
            "individualDisplay": [
                {
                    "id": self.node("individual-display"),
                    "type": "IndividualDisplay",
                    "language": language,
                    "displayDetail": [
                        {
                            "id": self.node("display-detail"),
                            "type": "DisplayDetail",
                            "page": 1,
                            "image": {
                                "id": self.node("media-object"),
                                "type": "MediaObject",
                                "content": base64.b64encode(image.encode()).decode(),
                                "contentEncoding": {
                                    "id": BASE64,
                                    "type": "Concept",
                                    "inScheme": {
                                        "id": "http://data.europa.eu/snb/encoding/25831c2",
                                        "type": "ConceptScheme",
                                    },
                                    "prefLabel": {"en": "base64"},
                                },
                                "contentType": concept(SVG, "SVG"),
                            },
                        }
                    ],
                }
            ],
        }


_ENGLISH = "http://publications.europa.eu/resource/authority/language/ENG"


def _face(title: str, learner: str, issuer: str) -> str:
    """The credential's face: a small SVG page naming the achievement, learner and issuer."""
    lines = [
        (60, 22, "Micro-credential"),
        (130, 34, title),
        (200, 22, "awarded to"),
        (250, 30, learner),
        (320, 22, "by"),
        (370, 26, issuer),
    ]
    text = "".join(
        f'<text x="400" y="{y}" font-size="{size}" text-anchor="middle">{escape(value)}</text>'
        for y, size, value in lines
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="440" '
        'font-family="sans-serif"><rect width="800" height="440" fill="#ffffff" '
        f'stroke="#1f3a93" stroke-width="8"/>{text}</svg>'
    )


def edc_credential(
    *,
    credential_id: str,
    version: int,
    content: dict[str, Any],
    learner: dict[str, Any],
    salt: str,
    issuer: dict[str, Any],
    parts: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The unsealed EDC credential of one credential version.

    ``issuer`` is the register's entry: ``issuer_id``, ``legal_name``, ``country``, ``region``,
    ``quality_assurance`` and ``legal_identifier`` (``notation`` and ``country``, from the
    issuer's registered seal certificate). ``parts``: for a stacked credential, the public
    content of each version its ``has_part`` names, in that order (their titles and awarding
    bodies become its ``hasPart`` achievements); a count that differs is a ``ValueError``.
    """
    urn = credential_urn(credential_id, version)
    tag = language_tag(content.get("language"))
    builder = _Builder(urn, content, issuer, tag, parts)
    credential: dict[str, Any] = {
        "@context": CONTEXT,
        "id": urn,
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialSchema": {"id": PROFILE, "type": "ShaclValidator2017"},
        "credentialProfiles": [
            {
                "id": GENERIC_PROFILE,
                "type": "Concept",
                "inScheme": {
                    "id": "http://data.europa.eu/snb/credential/25831c2",
                    "type": "ConceptScheme",
                },
                "prefLabel": {"en": "Generic"},
            }
        ],
        "displayParameter": builder.display(learner),
        "issuer": builder.issuer_organisation(),
        "issuanceDate": content["issued"],
        "issued": content["issued"],
        "validFrom": content["issued"],
        "credentialSubject": builder.subject(learner, content["learner"]["commitment"], salt),
    }
    if content.get("valid_until"):
        credential["validUntil"] = content["valid_until"]
    return credential
