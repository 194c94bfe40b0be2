"""EDC credentials out of the ledger, and sealed ones back in.

:class:`EdcReader` builds the unsealed EDC credential of a credential version from the stored
event, the learner's sealed data and the issuer's register entry, for the issuer to seal on its
side. :func:`record_sealed` takes a sealed credential back: the seal must verify with its
certificate, name the command's digests, and its payload must be exactly the ledger's record of
that version; the ledger then records the seal's digest as an event, so it enters the log and
the next anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ledger.application.service import CommandResult, Ledger
from ledger.domain.aggregates import Credential, Issuer
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import (
    DocumentUnavailable,
    FieldError,
    InvalidInput,
    NotFound,
    PersonalDataErased,
)
from ledger.formats.edc.credential import credential_reference, edc_credential
from ledger.formats.edc.seal import MalformedSeal, certificate_digest, read_sealed, seal_holds


def legal_identifier(issuer: Issuer) -> dict[str, str] | None:
    """The issuer's eIDAS legal identifier, from its seal certificates in use."""
    for found in issuer.seal_certificates.values():
        if not found["revoked"] and not found["retired"]:
            return {"notation": found["legal_identifier"], "country": found["country"]}
    return None


def register_entry(issuer: Issuer) -> dict[str, Any]:
    """What an EDC credential says of its issuer, from the register."""
    identifier = legal_identifier(issuer)
    if identifier is None:
        raise DocumentUnavailable(
            "the issuer has no seal certificate in use (none registered, or all rotated out "
            "or revoked): an EDC credential names the issuer's eIDAS legal identifier, which "
            "the ledger takes from it (credledger seal-cert register)"
        )
    return {
        "issuer_id": str(issuer.id),
        "legal_name": issuer.legal_name,
        "country": issuer.country,
        "region": issuer.region,
        "quality_assurance": issuer.quality_assurance,
        "legal_identifier": identifier,
    }


@dataclass
class EdcReader:
    """Builds the unsealed EDC credentials of credential versions."""

    ledger: Ledger

    def credential(self, credential_id: str, version: int | None = None) -> dict[str, Any]:
        """The EDC credential of ``version`` (default: the current one), not yet sealed."""
        try:
            found: object = self.ledger.repository.get(UUID(credential_id))
        except (AggregateNotFoundError, ValueError):
            raise NotFound(f"no credential {credential_id}") from None
        if not isinstance(found, Credential):
            raise NotFound(f"no credential {credential_id}")
        current = len(found.versions)
        version = current if version is None else version
        if not 1 <= version <= current:
            raise NotFound(f"credential {credential_id} has no version {version}")
        command = found.versions[version - 1]
        opened = self.ledger.vault.get(command["content"]["learner"]["commitment"])
        if opened is None:
            raise PersonalDataErased(
                "the learner's personal data has been erased: no new EDC credential can be "
                "made (sealed credentials the learner already holds keep verifying)"
            )
        issuer: object = self.ledger.repository.get(UUID(found.issuer_id))
        assert isinstance(issuer, Issuer)
        return edc_credential(
            credential_id=credential_id,
            version=version,
            content=command["content"],
            learner=opened.learner,
            salt=opened.salt,
            issuer=register_entry(issuer),
            parts=[self._part(part) for part in command["content"].get("has_part") or ()],
        )

    def _part(self, reference: dict[str, Any]) -> dict[str, Any]:
        """The content of a version a stacked credential names (the recognition it cites
        made sure that version exists)."""
        found: object = self.ledger.repository.get(UUID(reference["credential_id"]))
        assert isinstance(found, Credential)
        content: dict[str, Any] = found.versions[int(reference["version"]) - 1]["content"]
        return content


def _refused(field: str, rule: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError(field, rule, message)])


def record_sealed(ledger: Ledger, signed: SignedCommand) -> CommandResult:
    """Check a sealed EDC credential against its record-seal command and the ledger's record
    of the version it names, then record the seal's digest."""
    record = ledger.authorize_seal_record(signed)
    if signed.sealed is None:
        raise _refused("sealed", "required", "the sealed EDC credential must travel beside")
    try:
        sealed = read_sealed(signed.sealed)
    except MalformedSeal as exc:
        raise _refused(f"sealed.{exc.field}", "malformed-seal", exc.reason) from None
    if not seal_holds(sealed):
        raise _refused(
            "sealed.signatures[0].signature",
            "bad-seal",
            "does not verify over the payload with the x5c certificate",
        )
    if record.seal_sha256 != sealed.digest:
        raise _refused("command.seal_sha256", "seal-mismatch", "is not the digest of this seal")
    if record.certificate_sha256 != certificate_digest(sealed.certificate):
        raise _refused(
            "command.certificate_sha256",
            "seal-mismatch",
            "is not the digest of the certificate that made this seal",
        )
    named = credential_reference(str(sealed.credential.get("id")))
    if named != (record.credential_id, int(record.version)):
        raise _refused(
            "sealed.payload",
            "not-this-version",
            f"names another credential or version than {record.credential_id} version "
            f"{record.version}",
        )
    expected = EdcReader(ledger).credential(record.credential_id, int(record.version))
    if sealed.credential != expected:
        raise _refused(
            "sealed.payload",
            "not-the-ledgers-record",
            f"is not the ledger's record of credential {record.credential_id} version "
            f"{record.version}",
        )
    return ledger.record_seal(signed, sealed.signing_time)
