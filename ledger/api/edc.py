"""Europass EDC: issuers' seal certificates, recorded seals, and the ledger's side of verifying
a sealed credential."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

from cryptography import x509
from fastapi import APIRouter, Depends, Response
from fastapi import Path as PathParameter
from pydantic import BaseModel, ConfigDict, Field

from ledger.api import bulk
from ledger.api.app_context import ApiContext, context
from ledger.api.log_records import anchored_record
from ledger.api.parameters import named_in_path
from ledger.application.service import CommandResult
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import LedgerError, NotFound
from ledger.formats.edc.records import record_sealed
from ledger.formats.edc.verify import TrustAnchors

router = APIRouter(tags=["europass"])
Ctx = Annotated[ApiContext, Depends(context)]
Sha256 = Annotated[str, PathParameter(pattern=r"^[0-9a-f]{64}$")]


@router.post(
    "/issuers/{issuer_id}/seal-certificates",
    status_code=201,
    response_model=None,
    summary="Register the issuer's electronic-seal certificate (signed)",
)
def register_seal_certificate(
    issuer_id: str, body: SignedCommand, ctx: Ctx, response: Response
) -> dict[str, Any]:
    named_in_path(body, "issuer_id", issuer_id)
    result = ctx.ledger.register_seal_certificate(body)
    ctx.written()
    response.headers["Location"] = f"/issuers/{issuer_id}/seal-certificates"
    return result.as_dict()


@router.post(
    "/issuers/{issuer_id}/seal-certificates/{sha256}/revocation",
    response_model=None,
    summary="Revoke one of the issuer's seal certificates (signed)",
)
def revoke_seal_certificate(
    issuer_id: str, sha256: Sha256, body: SignedCommand, ctx: Ctx
) -> dict[str, Any]:
    named_in_path(body, "issuer_id", issuer_id)
    named_in_path(body, "certificate_sha256", sha256)
    result = ctx.ledger.revoke_seal_certificate(body)
    ctx.written()
    return result.as_dict()


@router.get(
    "/issuers/{issuer_id}/seal-certificates",
    response_model=None,
    summary="The issuer's seal certificates, with their validity and history",
)
def seal_certificates(issuer_id: str, ctx: Ctx) -> dict[str, Any]:
    if ctx.read_model.issuer(issuer_id) is None:
        raise NotFound(f"no issuer {issuer_id}")
    return {"items": ctx.read_model.seal_certificates(issuer_id)}


@router.post(
    "/credentials/{credential_id}/seals",
    response_model=None,
    summary="Record a sealed EDC credential of the current version (signed; the seal beside)",
)
def record_seal(credential_id: str, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    named_in_path(body, "credential_id", credential_id)
    result = record_sealed(ctx.ledger, body)
    ctx.written()
    return result.as_dict()


class BulkSeals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[SignedCommand], Field(min_length=1)]


@router.post(
    "/seals",
    response_model=None,
    summary="Record many sealed EDC credentials in one request (each signed; per-item results)",
)
def record_seals(body: BulkSeals, ctx: Ctx) -> dict[str, Any]:
    bulk.within_limit(ctx, len(body.items))
    outcomes: list[CommandResult | LedgerError] = []
    for item in body.items:
        try:
            outcomes.append(record_sealed(ctx.ledger, item))
        except LedgerError as exc:
            outcomes.append(exc)
    ctx.written()
    return bulk.answer(outcomes)


@cache
def _anchors_in(path: Path) -> TrustAnchors:
    return TrustAnchors(tuple(x509.load_pem_x509_certificates(path.read_bytes())))


def trust_anchors(ctx: ApiContext) -> TrustAnchors | None:
    """The CA certificates configured for EDC verification here, if any."""
    path = ctx.settings.edc_trust_anchors
    return None if path is None else _anchors_in(path)


class LocalSealLedger:
    """The ledger's public record, as :func:`ledger.formats.edc.verify.verify_sealed` asks."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self.seal_record = ctx.read_model.seal
        self.seal_certificates = ctx.read_model.seal_certificates
        self.issuer = ctx.read_model.issuer
        self.credential = ctx.read_model.credential
        self.commitment_of = ctx.read_model.commitment_of

    def anchoring(self, position: int, digest: str) -> tuple[bool | None, str]:
        return anchored_record(
            self._ctx,
            position,
            lambda envelope: (
                envelope.get("type") == "Credential.SealRecorded"
                and (envelope.get("content") or {}).get("seal_sha256") == digest
            ),
            "seal",
        )
