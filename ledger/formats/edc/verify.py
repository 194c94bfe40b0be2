"""Verifying a sealed EDC credential, step by step, in the report every verifier answers in.

Steps: the JAdES seal over the payload; the seal certificate's chain to the trust anchors
configured here (not checked where none are); conformance to the EDC shapes; the seal
certificate registered to the issuer and valid at the signing time; the ledger's record (the
seal's digest recorded for the credential version the payload names, and the payload rebuilt
from that version's public content and the commitment it opens, a stacked credential's parts
from theirs); the record's log entry under
an anchored checkpoint; and the version's current status. A credential sealed elsewhere (the
Commission's sample, say) is read and its seal checked, and the verdict says it was not issued
through this ledger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ledger.domain.commitment import commit
from ledger.formats.edc.credential import (
    COMMITMENT_SCHEME,
    LEARNER_ID_SCHEME,
    SALT_SCHEME,
    credential_reference,
    edc_credential,
)
from ledger.formats.edc.seal import (
    MalformedSeal,
    SealedCredential,
    certificate_digest,
    read_sealed,
    seal_holds,
    unexpected_headers,
)
from ledger.verify.report import Report

_ISSUER = re.compile(r"urn:credledger:issuer:([0-9a-f-]{36})")
NOT_ISSUED_HERE = "not-issued-here"


class SealLedger(Protocol):
    """What the verification asks of the ledger's public record."""

    def seal_record(self, digest: str) -> dict[str, Any] | None: ...
    def seal_certificates(self, issuer_id: str) -> list[dict[str, Any]]: ...
    def issuer(self, issuer_id: str) -> dict[str, Any] | None: ...
    def credential(self, credential_id: str) -> dict[str, Any] | None: ...
    def commitment_of(self, credential_id: str, version: int) -> str | None: ...
    def anchoring(self, position: int, digest: str) -> tuple[bool | None, str]:
        """Whether the record at ``position`` (naming ``digest``) is in an anchored log."""
        ...


class NoSealLedger:
    """No ledger at hand: only the seal, chain and shapes can be checked."""

    def seal_record(self, digest: str) -> dict[str, Any] | None:
        return None

    def seal_certificates(self, issuer_id: str) -> list[dict[str, Any]]:
        return []

    def issuer(self, issuer_id: str) -> dict[str, Any] | None:
        return None

    def credential(self, credential_id: str) -> dict[str, Any] | None:
        return None

    def commitment_of(self, credential_id: str, version: int) -> str | None:
        return None

    def anchoring(self, position: int, digest: str) -> tuple[bool | None, str]:
        return None, "No ledger at hand."


@dataclass(frozen=True)
class TrustAnchors:
    """The CA certificates a seal certificate's chain must end at, here."""

    certificates: tuple[x509.Certificate, ...]

    def chain_problem(self, chain: list[x509.Certificate], at: datetime) -> str | None:
        """Why ``chain`` (seal certificate first) does not lead to an anchor at ``at``."""
        for certificate in chain:
            if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
                return f"{certificate.subject.rfc4514_string()} was not valid at the signing time"
        for child, parent in pairwise(chain):
            try:
                child.verify_directly_issued_by(parent)
            except (ValueError, TypeError, InvalidSignature):
                return f"{child.subject.rfc4514_string()} is not issued by the next x5c entry"
        last = chain[-1]
        for anchor in self.certificates:
            if last == anchor:
                return None
            try:
                last.verify_directly_issued_by(anchor)
            except (ValueError, TypeError, InvalidSignature):
                continue  # not this anchor: try the next
            if not anchor.not_valid_before_utc <= at <= anchor.not_valid_after_utc:
                return "the trust anchor was not valid at the signing time"
            return None
        return "the chain does not lead to a trust anchor configured here"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def learner_of(person: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None]:
    """The learner's data as the ledger committed to it, the commitment and the salt, read
    back from the credential subject."""
    listed = person.get("identifier")
    identifiers = {
        str(i.get("schemeName")): str(i.get("notation"))
        for i in (listed if isinstance(listed, list) else [])
        if isinstance(i, dict)
    }

    def text(term: str) -> str | None:
        value = person.get(term)
        return next(iter(value.values()), None) if isinstance(value, dict) and value else None

    learner: dict[str, Any] = {
        "identifier": identifiers.get(LEARNER_ID_SCHEME),
        "full_name": text("fullName"),
        "given_name": text("givenName"),
        "family_name": text("familyName"),
    }
    born = person.get("dateOfBirth")
    if isinstance(born, str):
        learner["date_of_birth"] = born.removesuffix("T00:00:00Z")
    for contact in _listed(person.get("contactPoint")):
        mailboxes = contact.get("emailAddress") if isinstance(contact, dict) else None
        for mailbox in _listed(mailboxes):
            address = str(mailbox.get("id", "")) if isinstance(mailbox, dict) else ""
            if address.startswith("mailto:"):
                learner["email"] = address.removeprefix("mailto:")
    found = {k: v for k, v in learner.items() if v is not None}
    return found, identifiers.get(COMMITMENT_SCHEME), identifiers.get(SALT_SCHEME)


def _seal_step(report: Report, sealed: SealedCredential) -> bool:
    holds = seal_holds(sealed)
    extra = unexpected_headers(sealed)
    note = f" (older JAdES header parameters: {', '.join(extra)})" if extra else ""
    detail = (
        f"The {sealed.header['alg']} seal by {sealed.certificate.subject.rfc4514_string()} "
        f"verifies over the payload, signed {sealed.signing_time.isoformat()}{note}."
        if holds
        else "The seal does not verify over the payload with its x5c certificate."
    )
    return bool(report.add("seal", holds, detail))


def _record_steps(
    report: Report, sealed: SealedCredential, ledger: SealLedger
) -> dict[str, Any] | None:
    """The register and record steps; the version's status row, where all of them pass."""
    issuer = sealed.credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else None
    found = _ISSUER.fullmatch(str(issuer_id))
    reference = credential_reference(str(sealed.credential.get("id")))
    record = ledger.seal_record(sealed.digest)
    if found is None or reference is None or record is None:
        report.add(
            "ledger_record",
            False,
            "This credential was not issued through this ledger: no record of its seal is in "
            "the ledger's history.",
        )
        report.verdict = NOT_ISSUED_HERE
        return None
    issuer_id = found.group(1)
    digest = certificate_digest(sealed.certificate)
    certificates = ledger.seal_certificates(issuer_id)
    registered = next((c for c in certificates if c["sha256"] == digest), None)
    report.add("seal_certificate", *_certificate_verdict(registered, sealed.signing_time))
    credential_id, version = reference
    if (record["credential_id"], record["version"]) != (credential_id, version):
        report.add(
            "ledger_record",
            False,
            f"The ledger recorded this seal for {record['credential_id']} version "
            f"{record['version']}, not the {credential_id} version {version} it names.",
        )
        return None
    return _rebuilt(report, sealed, ledger, issuer_id, credential_id, version, record, certificates)


def _certificate_verdict(registered: dict[str, Any] | None, signed: datetime) -> tuple[bool, str]:
    if registered is None:
        return False, "The seal certificate is not registered to the credential's issuer."
    at = signed.isoformat()
    if not registered["not_before"] <= _z(signed) <= registered["not_after"]:
        return False, f"The seal certificate was not valid at the signing time {at}."
    for moment, what in (
        (registered["revoked_at"], "revoked"),
        (registered["retired_at"], "rotated out"),
    ):
        if moment is not None and moment <= _z(signed):
            return False, f"The seal certificate was {what} ({moment}) before the seal ({at})."
    return True, (
        f"The seal certificate ({registered['legal_identifier']}) is registered to the issuer "
        "and was valid when the seal was made."
    )


def _z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _rebuilt(
    report: Report,
    sealed: SealedCredential,
    ledger: SealLedger,
    issuer_id: str,
    credential_id: str,
    version: int,
    record: dict[str, Any],
    certificates: list[dict[str, Any]],
) -> dict[str, Any] | None:
    credential = ledger.credential(credential_id)
    register = ledger.issuer(issuer_id)
    commitment = ledger.commitment_of(credential_id, version)
    chosen = None
    if credential is not None:
        chosen = next((v for v in credential["versions"] if v["version"] == version), None)
    subject = sealed.credential.get("credentialSubject")
    learner, named, salt = learner_of(subject if isinstance(subject, dict) else {})
    issuer_entry = None
    if register is not None:
        legal = next(
            (
                {"notation": c["legal_identifier"], "country": c["country"]}
                for c in certificates
                if c["sha256"] == record["certificate_sha256"]
            ),
            None,
        )
        issuer_entry = {**register, "issuer_id": issuer_id, "legal_identifier": legal}
    matches = False
    if chosen is not None and commitment is not None and salt is not None and issuer_entry:
        try:
            opened = named == commitment and commit(learner, salt) == commitment
            expected = edc_credential(
                credential_id=credential_id,
                version=version,
                content={**chosen["content"], "learner": {"commitment": commitment}},
                learner=learner,
                salt=salt,
                issuer=issuer_entry,
                parts=_parts(ledger, chosen["content"]),
            )
            matches = opened and expected == sealed.credential
        except (KeyError, ValueError, TypeError):
            matches = False
    if not matches:
        report.add(
            "ledger_record",
            False,
            f"The payload is not the ledger's record of {credential_id} version {version}: its "
            "content or learner differs from what the public history commits to.",
        )
        return None
    report.add(
        "ledger_record",
        True,
        f"The ledger recorded this seal for {credential_id} version {version} "
        f"({record['recorded_at']}); the payload is that version's content, and its learner "
        "opens the version's commitment.",
    )
    assert chosen is not None and credential is not None
    return {**chosen, "revocation": credential["revocation"], "position": record["position"]}


def _parts(ledger: SealLedger, content: dict[str, Any]) -> list[dict[str, Any]]:
    """The public content of each version a stacked credential names, as the ledger holds it
    (a part it does not hold is left out, and the rebuilt payload then differs)."""
    found = []
    for reference in content.get("has_part") or ():
        record = ledger.credential(reference["credential_id"])
        versions = record["versions"] if record is not None else []
        found += [v["content"] for v in versions if v["version"] == int(reference["version"])]
    return found


def verify_sealed(
    document: Any,
    ledger: SealLedger,
    trust: TrustAnchors | None,
) -> Report:
    """Every check of a sealed EDC credential; the verdict is ``valid`` only if all pass."""
    report = Report()
    try:
        sealed = read_sealed(document)
    except MalformedSeal as exc:
        report.add("seal", False, f"Not a sealed EDC credential: {exc}.")
        return report
    holds = _seal_step(report, sealed)
    if trust is None:
        report.add(
            "certificate_chain",
            None,
            "No trust anchors are configured here: the chain is not trusted here.",
        )
    else:
        problem = trust.chain_problem(sealed.certificates, sealed.signing_time)
        report.add(
            "certificate_chain",
            problem is None,
            problem or "The seal certificate's chain leads to a trust anchor configured here.",
        )
    # pySHACL and rdflib are imported here, not with the module: loaded in every API process
    # they add a third to the objects each full garbage collection walks.
    from ledger.formats.edc.shapes import violations

    try:
        found = violations(sealed.credential)
        report.add(
            "shapes",
            not found,
            "The credential conforms to the EDC generic-full shapes."
            if not found
            else f"{len(found)} violations of the EDC shapes, first: {found[0].message}",
        )
    except ValueError as exc:  # an unknown context, or not JSON-LD at all
        report.add("shapes", False, f"The credential cannot be read as EDC JSON-LD: {exc}")
    status = _record_steps(report, sealed, ledger)
    if status is None:
        if report.verdict != NOT_ISSUED_HERE:
            report.verdict = "invalid"
        return report
    anchored, detail = ledger.anchoring(status["position"], sealed.digest)
    report.add("anchor", anchored, detail)
    revocation = status.get("revocation")
    state = status["status"]
    if state == "superseded":
        report.add("status", False, f"Superseded by version {status['superseded_by']}.")
    elif revocation is not None:
        report.add("status", False, f"Revoked on {revocation['at']}: {revocation['reason']}")
    else:
        report.add("status", True, "The version is current and not revoked.")
    passed = [step.passed for step in report.steps]
    if not holds or False in passed[: len(passed) - 1]:
        report.verdict = "invalid"
    elif state == "superseded":
        report.verdict = "superseded"
    elif revocation is not None:
        report.verdict = "revoked"
    elif anchored is None:
        report.verdict = "not-anchored"
    elif None in passed:
        report.verdict = "status-unknown"
    else:
        report.verdict = "valid"
    return report
