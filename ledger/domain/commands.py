"""The commands issuers sign, and the envelope they travel in.

A command is a JSON object; the issuer signs its RFC 8785 bytes. Personal data never enters a
command: the learner appears as a salted commitment, and the clear data with its salt travels
beside the command in ``personal_data``, to be checked against the commitment and stored apart.

A signature proves exactly one thing: every command names its type, its command id (one
namespace per issuer, across all types) and its target. An issue command's credential id is
derived from the issuer and the command id; amend, revoke and erase name the credential and the
version they act on, so a signed command cannot be recorded against another credential or at
another point of its history.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ledger.domain.content import (
    Country,
    CredentialContent,
    LearnerData,
    ShortText,
    Text,
    Timestamp,
    in_codelist,
)
from ledger.domain.pathways import PathwayRules, PathwayTarget
from ledger.domain.signing import normalize_address

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _uuid(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError("must be a lower-case UUID such as 0b8f5e3c-9d1a-4c1e-8f7a-2b3c4d5e6f70")
    return value


def _address(value: str) -> str:
    normalize_address(value)
    return value


UuidStr = Annotated[str, AfterValidator(_uuid)]
CommandId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")
]
Address = Annotated[str, AfterValidator(_address)]
Salt = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    issuer_id: UuidStr
    signed_at: Timestamp


class IssueCommand(_Command):
    type: Literal["issue"]
    content: CredentialContent


# Text like every other command field (commands hold only text, so their canonical bytes are
# plain): a version number in ASCII digits, without leading zeros.
Version = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{0,6}$"),
    Field(
        description='The credential version the command acts on, in digits ("2"): its '
        "current version when signed. The signature then speaks for that version only.",
    ),
]


class AmendCommand(_Command):
    """Replace version ``version`` of a credential with ``content`` (which becomes version + 1)."""

    type: Literal["amend"]
    credential_id: UuidStr
    version: Version
    content: CredentialContent


class RevokeCommand(_Command):
    type: Literal["revoke"]
    credential_id: UuidStr
    version: Version
    reason: Text


class EraseCommand(_Command):
    """Erase the personal data of the learner named by ``credential_id`` (on their request)."""

    type: Literal["erase"]
    credential_id: UuidStr
    version: Version


class RotateKeyCommand(_Command):
    type: Literal["rotate-key"]
    new_address: Address


Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
PemCertificate = Annotated[str, StringConstraints(min_length=1, max_length=16_384)]


class RegisterSealCertificateCommand(_Command):
    """Register the X.509 certificate the issuer seals EDC credentials with; ``replaces``
    names a registered certificate this one rotates out (it stays valid for seals made
    before)."""

    type: Literal["register-seal-certificate"]
    certificate: PemCertificate
    replaces: Sha256 | None = None


class RevokeSealCertificateCommand(_Command):
    """Revoke a registered seal certificate: seals made with it from now on are refused."""

    type: Literal["revoke-seal-certificate"]
    certificate_sha256: Sha256
    reason: Text


class RecordSealCommand(_Command):
    """Record that the issuer sealed version ``version`` of a credential as an EDC credential:
    the seal's digest and certificate, so the sealed file is in the log and anchored."""

    type: Literal["record-seal"]
    credential_id: UuidStr
    version: Version
    seal_sha256: Sha256
    certificate_sha256: Sha256


class AdoptWalletKeyCommand(_Command):
    """Have the ledger keep a new ES256 key that signs the issuer's SD-JWT VCs and status list;
    the key adopted before is retired (what it signed keeps verifying)."""

    type: Literal["adopt-wallet-key"]


class OfferCommand(_Command):
    """Offer version ``version`` of a credential to the learner's wallet (OpenID4VCI, the
    pre-authorized code flow): a signed, fresh request, answered once, delivered once."""

    type: Literal["offer"]
    credential_id: UuidStr
    version: Version


class PublishPathwayCommand(_Command):
    """Publish a pathway: its target and rules (version 1). The pathway's id derives from the
    issuer and the command id, as a credential's does."""

    type: Literal["publish-pathway"]
    target: PathwayTarget
    rules: PathwayRules


class RevisePathwayCommand(_Command):
    """Replace version ``version`` of a pathway with new target and rules (version + 1);
    evaluations and recognitions name the version they used."""

    type: Literal["revise-pathway"]
    pathway_id: UuidStr
    version: Version
    target: PathwayTarget
    rules: PathwayRules


class RecognisedComponent(BaseModel):
    """One credential version a recognition counts, and the anchored hash of its document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credential_id: UuidStr
    version: Version
    document_hash: Sha256 = Field(
        description="The anchored leaf of the version's Blockcerts document: SHA-256 of its "
        "canonical N-Quads without the proof, in hex."
    )


class RecogniseCommand(_Command):
    """The recognising institution's decision that these components, of one learner, meet
    version ``pathway_version`` of its pathway. The ledger checks every component again and
    records the decision; nothing is ever combined without one."""

    type: Literal["recognise"]
    pathway_id: UuidStr
    pathway_version: Version
    components: Annotated[list[RecognisedComponent], Field(min_length=1, max_length=30)]


class ReadPersonalDataCommand(_Command):
    """A signed read: only the issuer of a credential may see its learner's data."""

    type: Literal["read-personal-data"]
    credential_id: UuidStr


class DocumentWanted(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credential_id: UuidStr
    version: Annotated[int, Field(ge=1)] | None = None


class ReadDocumentsCommand(_Command):
    """A signed read of credential documents (with learners' data): their issuer's only."""

    type: Literal["read-documents"]
    documents: Annotated[list[DocumentWanted], Field(min_length=1, max_length=1000)]
    format: Literal["blockcerts", "edc"] = "blockcerts"


class PersonalData(BaseModel):
    """The learner's clear data and the salt that opens the command's commitment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learner: LearnerData
    salt: Salt


class SignedCommand(BaseModel):
    """The request body of every issuer command."""

    model_config = ConfigDict(extra="forbid")

    command: dict[str, Any] = Field(
        description="The command object exactly as signed; see the command types in the docs."
    )
    signature: str = Field(
        description="0x-hex personal_sign (EIP-191) signature over the command's RFC 8785 bytes."
    )
    personal_data: dict[str, Any] | None = Field(
        default=None,
        description="The learner's data and salt; required where the command commits to a "
        "learner the ledger has not seen.",
    )
    new_key_signature: str | None = Field(
        default=None,
        description="For rotate-key: the new key's signature over the same bytes "
        "(proof that the issuer holds it).",
    )
    documents: Annotated[list[dict[str, Any]], Field(max_length=30)] | None = Field(
        default=None,
        description="For recognise: the components' Blockcerts documents as the learner "
        "handed them over, verified again and checked against the command; not stored.",
    )
    sealed: dict[str, Any] | None = Field(
        default=None,
        description="For record-seal: the sealed EDC credential (JAdES, JWS JSON), checked "
        "against the command and the ledger's record; only its digest is stored.",
    )


COMMAND_MODELS: dict[str, type[_Command]] = {
    "issue": IssueCommand,
    "amend": AmendCommand,
    "revoke": RevokeCommand,
    "erase": EraseCommand,
    "rotate-key": RotateKeyCommand,
    "register-seal-certificate": RegisterSealCertificateCommand,
    "revoke-seal-certificate": RevokeSealCertificateCommand,
    "record-seal": RecordSealCommand,
    "adopt-wallet-key": AdoptWalletKeyCommand,
    "offer": OfferCommand,
    "publish-pathway": PublishPathwayCommand,
    "revise-pathway": RevisePathwayCommand,
    "recognise": RecogniseCommand,
    "read-personal-data": ReadPersonalDataCommand,
}


class QualityAssuranceEvidence(BaseModel):
    """How an issuer's quality is assured: the kind, who assures it, and where to check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Annotated[str, in_codelist("accreditation-types", "quality-assurance type")] = Field(
        description="Institutional or programme QA, or licence (EU accreditation code list)."
    )
    body: ShortText = Field(description="The accrediting or quality-assurance body.")
    reference: ShortText = Field(
        description="A register id (e.g. DEQAR) or URL where the evidence can be checked."
    )


class IssuerRegistration(BaseModel):
    """What the operator records to admit an issuer to the register."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    legal_name: ShortText
    country: Country
    region: ShortText | None = None
    quality_assurance: Annotated[list[QualityAssuranceEvidence], Field(min_length=1)]
    address: Address = Field(description="The issuer's secp256k1 identity (Ethereum address).")


class StatusChange(BaseModel):
    """An operator's suspension or reinstatement of an issuer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Text
