"""The SD-JWT VC of a credential version (draft-ietf-oauth-sd-jwt-vc), type ``dc+sd-jwt``.

Visible to anyone who holds it: the issuer, the type (``vct``), when it was issued and is valid,
the holder's key (``cnf``), its status list entry, and the credential id and version it speaks
for. Every constitutive element and every learner attribute is a claim of its own, disclosed
only if the holder chooses; array claims (learning outcomes, awarding bodies, credit points,
assessment types) are disclosable element by element.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ledger.domain import codelists
from ledger.domain.content import parse_timestamp
from ledger.formats.sd_jwt import jws
from ledger.formats.sd_jwt.disclosures import SdJwt, conceal

MEDIA_TYPE = "dc+sd-jwt"
CONFIGURATION_ID = "eu-micro-credential"
VCT_PATH = "/vct/eu-micro-credential/v1"
VISIBLE = frozenset(
    {"iss", "vct", "iat", "nbf", "exp", "cnf", "status", "credential_id", "credential_version"}
)

# Each claim: its English label, and the code list its values come from, where there is one.
CLAIMS: dict[str, tuple[str, Callable[[], codelists.CodeList] | None]] = {
    "title": ("Title", None),
    "language": ("Language", codelists.languages),
    "issuer_country": ("Country of the issuer", codelists.countries),
    "issuer_region": ("Region of the issuer", None),
    "awarding_bodies": ("Awarding bodies", None),
    "issued": ("Date of issue", None),
    "awarding_date": ("Date awarded", None),
    "valid_until": ("Valid until", None),
    "learning_outcomes": ("Learning outcomes", None),
    "credit_points": ("Credit points", None),
    "volume_of_learning": ("Volume of learning", None),
    "eqf_level": ("EQF level", codelists.eqf),
    "nqf_level": ("NQF level", codelists.nqf),
    "thematic_area": ("Field of education and training (ISCED-F)", codelists.isced_f),
    "assessment_types": ("Type of assessment", codelists.assessment_types),
    "form_of_participation": ("Form of participation", None),
    "quality_assurance": ("Quality assurance", None),
    "prerequisites": ("Prerequisites", None),
    "supervision": ("Supervision and identity verification", None),
    "grade": ("Grade", None),
    "stackability": ("Integration and stackability", None),
    "further_information": ("Further information", None),
    "learner_identifier": ("Learner identifier", None),
    "name": ("Learner's full name", None),
    "given_name": ("Learner's given name", None),
    "family_name": ("Learner's family name", None),
    "birthdate": ("Learner's date of birth", None),
    "email": ("Learner's e-mail address", None),
}
_LEARNER = {
    "identifier": "learner_identifier",
    "full_name": "name",
    "given_name": "given_name",
    "family_name": "family_name",
    "date_of_birth": "birthdate",
    "email": "email",
}


def claims_of(content: dict[str, Any], learner: dict[str, Any]) -> dict[str, Any]:
    """The disclosable claims of a version: its constitutive elements and its learner."""
    workload = content.get("workload") or {}
    values = {
        **{name: content.get(name) for name in CLAIMS if name in content},
        "credit_points": workload.get("credit_points"),
        "volume_of_learning": workload.get("volume_of_learning"),
        **{claim: learner.get(field) for field, claim in _LEARNER.items()},
    }
    values.pop("learner", None)
    return {name: value for name, value in values.items() if value is not None}


def epoch(timestamp: str) -> int:
    return int(parse_timestamp(timestamp).timestamp())


def issuer_url(public_url: str, issuer_id: str) -> str:
    """The ``iss`` of an issuer's SD-JWT VCs; its JWKS is under /.well-known/jwt-vc-issuer."""
    return f"{public_url}/issuers/{issuer_id}"


def status_list_uri(public_url: str, issuer_id: str) -> str:
    return f"{public_url}/issuers/{issuer_id}/token-status-list"


@dataclass(frozen=True)
class StatusEntry:
    uri: str
    index: int


@dataclass(frozen=True)
class IssuedVc:
    """An SD-JWT VC as delivered, and the digest of its issuer-signed JWT (hex, what the log
    records)."""

    sd_jwt: str
    jwt_sha256: str


def jwt_sha256(jwt: str) -> str:
    return hashlib.sha256(jwt.encode("ascii")).hexdigest()


def issue(
    *,
    issuer: str,
    vct: str,
    credential_id: str,
    version: int,
    content: dict[str, Any],
    learner: dict[str, Any],
    holder_jwk: dict[str, Any],
    status: StatusEntry,
    key: ec.EllipticCurvePrivateKey,
    kid: str,
    issued_at: int,
) -> IssuedVc:
    """Sign the SD-JWT VC of a credential version for the holder key ``holder_jwk``."""
    visible: dict[str, Any] = {
        "iss": issuer,
        "vct": vct,
        "iat": issued_at,
        "nbf": epoch(content["issued"]),
        "cnf": {"jwk": holder_jwk},
        "status": {"status_list": {"idx": status.index, "uri": status.uri}},
        "credential_id": credential_id,
        "credential_version": version,
    }
    if content.get("valid_until") is not None:
        visible["exp"] = epoch(content["valid_until"])
    payload, disclosures = conceal({**visible, **claims_of(content, learner)}, VISIBLE)
    jwt = jws.sign({"typ": MEDIA_TYPE, "kid": kid}, payload, key)
    text = SdJwt(jwt, tuple(d.encoded for d in disclosures)).serialize()
    return IssuedVc(text, jwt_sha256(jwt))


def type_metadata(vct: str) -> dict[str, Any]:
    """The SD-JWT VC type metadata served at ``vct``: names and labels of every claim."""
    return {
        "vct": vct,
        "name": "EU micro-credential",
        "description": "A micro-credential with the constitutive elements of the 2022 Council "
        "Recommendation on micro-credentials, issued through credledger.",
        "display": [{"locale": "en", "name": "EU micro-credential"}],
        "claims": [
            {"path": [name], "display": [{"locale": "en", "label": label}], "sd": "always"}
            for name, (label, _) in CLAIMS.items()
        ]
        + [
            {"path": [name], "display": [{"locale": "en", "label": label}], "sd": "never"}
            for name, label in (
                ("credential_id", "Credential id in the ledger"),
                ("credential_version", "Credential version"),
            )
        ],
    }


def labelled(claims: dict[str, Any]) -> list[dict[str, Any]]:
    """Disclosed claims with their labels, and code-list values with their EU labels."""
    shown = []
    for name, value in claims.items():
        label, codelist = CLAIMS.get(name, (name, None))
        item: dict[str, Any] = {"claim": name, "label": label, "value": value}
        values = value if isinstance(value, list) else [value]
        if codelist is not None:
            names = codelist().labels
            item["value_labels"] = [names.get(v) if isinstance(v, str) else None for v in values]
        elif name == "credit_points":
            systems = codelists.credit_systems().labels
            item["value_labels"] = [
                f"{v.get('point')} {systems.get(str(v.get('framework')), v.get('framework'))}"
                if isinstance(v, dict)
                else None
                for v in values
            ]
        shown.append(item)
    return shown
