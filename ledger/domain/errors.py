"""What can go wrong, as a class hierarchy.

Every error carries a stable machine-readable ``code``, the HTTP ``status`` it maps to and a
sentence a person understands. The API turns them into RFC 9457 problem documents and the CLI
prints :meth:`LedgerError.diagnostics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One rejected field: where it is (a dotted path), which rule it broke, and why."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


class LedgerError(Exception):
    """Base class of every error the ledger reports to a caller."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    # What the caller can do about it, where there is something to do.
    advice: ClassVar[str | None] = None

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def diagnostics(self) -> str:
        """A human explanation: what happened and, where it helps, what to do."""
        told = f"{self.title}: {self.detail}"
        return told if self.advice is None else f"{told}\n{self.advice}"

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        body: dict[str, Any] = {
            "type": f"https://credledger.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        body.update(self.extra)
        return body


class MalformedRequest(LedgerError):
    status = 400
    code = "malformed-request"
    title = "Malformed request"


class InvalidInput(LedgerError):
    """Input that parses but breaks one or more rules; ``errors`` names each field."""

    status = 422
    code = "invalid-input"
    title = "Invalid input"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        if detail is None:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            detail = f"{first.field}: {first.message}{more}"
        super().__init__(detail, errors=[e.as_dict() for e in errors])
        self.errors = errors

    def diagnostics(self) -> str:
        lines = [f"{self.title}:"]
        lines += [f"  - {e.field}: {e.message} [{e.rule}]" for e in self.errors]
        return "\n".join(lines)


class AuthenticationError(LedgerError):
    status = 401
    code = "unauthenticated"
    title = "Not authenticated"


class SignatureInvalid(AuthenticationError):
    code = "bad-signature"
    title = "Bad signature"

    advice = (
        "Sign the command with the issuer's current key over its RFC 8785 canonical bytes "
        "(the credledger client does this for you)."
    )


class UnknownIssuer(AuthenticationError):
    code = "unknown-issuer"
    title = "Unknown issuer"


class AdminAuthenticationError(AuthenticationError):
    code = "bad-admin-token"
    title = "Operator authentication failed"


class Forbidden(LedgerError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class IssuerSuspended(Forbidden):
    code = "issuer-suspended"
    title = "Issuer suspended"


class NotYourCredential(Forbidden):
    code = "not-your-credential"
    title = "Not your credential"


class NotYourPathway(Forbidden):
    code = "not-your-pathway"
    title = "Not your pathway"


class NotFound(LedgerError):
    status = 404
    code = "not-found"
    title = "Not found"


class PersonalDataErased(NotFound):
    code = "personal-data-erased"
    title = "Personal data erased"


class Conflict(LedgerError):
    status = 409
    code = "conflict"
    title = "Conflict"


class AlreadyRevoked(Conflict):
    code = "already-revoked"
    title = "Credential already revoked"


class ConcurrentWrite(Conflict):
    code = "concurrent-write"
    title = "Concurrent write"

    advice = "Read the credential again and retry the command."


class VersionMismatch(Conflict):
    """The command names a version of the credential that is not its current one."""

    code = "version-mismatch"
    title = "Not the current version"

    advice = "Read the credential again and sign the command for its current version."


class ReadAlreadyAnswered(Conflict):
    code = "read-already-answered"
    title = "Signed read already answered"

    advice = "Sign a new request (a new command id) to read again."


class CommandIdReused(Conflict):
    code = "command-id-reused"
    title = "Command id reused"


class SealAlreadyRecorded(Conflict):
    code = "seal-already-recorded"
    title = "Seal already recorded"


class NoWalletKey(Conflict):
    code = "no-wallet-key"
    title = "No wallet key adopted"

    advice = "Have the ledger adopt a signing key for your SD-JWT VCs: credledger wallet-key."


class OfferAlreadyDelivered(Conflict):
    code = "offer-already-delivered"
    title = "Offer already delivered"

    advice = "An offer delivers one credential; make a new offer (credledger offer)."


class AlreadyRegistered(Conflict):
    code = "already-registered"
    title = "Already registered"


class AnchoringKeyChanged(Conflict):
    code = "anchoring-key-changed"
    title = "Anchoring key changed"


class DocumentUnavailable(Conflict):
    """A credential version has no document yet (not anchored) or never will (erased before
    its batch was anchored)."""

    code = "document-unavailable"
    title = "Credential document unavailable"


class DocumentDoesNotReproduce(LedgerError):
    """A rebuilt document no longer hashes to its anchored leaf: never hand it out."""

    status = 500
    code = "document-does-not-reproduce"
    title = "Document does not reproduce"


class TooLarge(LedgerError):
    status = 413
    code = "too-large"
    title = "Request too large"


class Unavailable(LedgerError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


class IntakePaused(Unavailable):
    """The consumers trail the event store by more than the intake allows: nothing was
    written; the same command may be sent again after ``retry_after`` seconds."""

    code = "intake-paused"
    title = "Intake paused"
    advice = "Send the same command again after the Retry-After seconds; it was not stored."

    def __init__(self, detail: str, *, retry_after: int, **extra: object) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class NotReady(Unavailable):
    """The service answers but should not be sent traffic yet; ``not_ready`` says why."""

    code = "not-ready"
    title = "Not ready"


class WalletRequestRefused(LedgerError):
    """An OpenID4VCI or OAuth 2.0 request refused. The problem document also carries the
    protocol's own members, ``error`` and ``error_description`` (RFC 6749 section 5.2,
    OpenID4VCI sections 8.3.1 and 7.3), so a wallet reads it as it expects; ``reason`` names
    exactly what was wrong."""

    status = 400
    code = "wallet-request-refused"
    title = "Wallet request refused"
    error: ClassVar[str] = "invalid_request"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, reason=reason, error=self.error, error_description=detail)
        self.reason = reason


class InvalidGrant(WalletRequestRefused):
    code = "invalid-grant"
    title = "Pre-authorized code refused"
    error = "invalid_grant"


class UnsupportedGrantType(WalletRequestRefused):
    code = "unsupported-grant-type"
    title = "Grant type not supported"
    error = "unsupported_grant_type"


class InvalidToken(WalletRequestRefused):
    status = 401
    code = "invalid-token"
    title = "Access token refused"
    error = "invalid_token"


class InvalidProof(WalletRequestRefused):
    code = "invalid-proof"
    title = "Key proof refused"
    error = "invalid_proof"


class InvalidNonce(WalletRequestRefused):
    code = "invalid-nonce"
    title = "Key proof nonce refused"
    error = "invalid_nonce"


class InvalidCredentialRequest(WalletRequestRefused):
    code = "invalid-credential-request"
    title = "Credential request refused"
    error = "invalid_credential_request"


class CredentialRequestDenied(WalletRequestRefused):
    code = "credential-request-denied"
    title = "Credential no longer offered"
    error = "credential_request_denied"
