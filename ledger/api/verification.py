"""``POST /verify``: every check of a credential, a proof bundle or a Blockcerts document, with a
sentence each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ledger.api.app_context import ApiContext, context
from ledger.api.blockcerts import LocalResolver
from ledger.api.edc import LocalSealLedger, trust_anchors
from ledger.api.parameters import INT64_MAX
from ledger.api.wallets import LocalWalletLedger
from ledger.domain.errors import NotFound
from ledger.formats.blockcerts.verify import verify_document
from ledger.formats.edc.verify import verify_sealed
from ledger.formats.sd_jwt.jws import MAX_TOKEN_CHARS
from ledger.formats.sd_jwt.verify import WalletLedger, verify_presentation
from ledger.persistence.read_model import version_status
from ledger.verify.bundle import AnchorPending, build_bundle
from ledger.verify.bundle_checks import verify_bundle
from ledger.verify.combined import (
    bundle_content,
    combine,
    components_step,
    quality_assurance_step,
    with_components,
)
from ledger.verify.report import Report, Step

router = APIRouter(tags=["verification"])
Ctx = Annotated[ApiContext, Depends(context)]


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential_id: str | None = Field(default=None, description="Verify this credential.")
    version: int | None = Field(
        default=None, ge=1, le=INT64_MAX, description="Default: the current one."
    )
    bundle: dict[str, Any] | None = Field(default=None, description="Or a saved proof bundle.")
    document: dict[str, Any] | None = Field(
        default=None, description="Or a Blockcerts credential document issued by this ledger."
    )
    edc: dict[str, Any] | None = Field(
        default=None, description="Or a sealed Europass EDC credential (JAdES, JWS JSON)."
    )
    sd_jwt: Annotated[str, StringConstraints(max_length=MAX_TOKEN_CHARS)] | None = Field(
        default=None,
        description="Or an SD-JWT VC presentation, <jwt>~<disclosure>~…~<kb-jwt>, with the "
        "nonce and audience this verifier asked the holder's key binding for.",
    )
    nonce: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    audience: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None

    @model_validator(mode="after")
    def one_subject(self) -> VerifyRequest:
        subjects = (self.credential_id, self.bundle, self.document, self.edc, self.sd_jwt)
        if len([x for x in subjects if x is not None]) != 1:
            raise ValueError("give exactly one of credential_id, bundle, document, edc or sd_jwt")
        if self.sd_jwt is not None and (self.nonce is None or self.audience is None):
            raise ValueError("an sd_jwt presentation is verified for a nonce and an audience")
        return self


def _record(
    ctx: ApiContext, credential_id: str, version: int | None, bundle: dict[str, Any] | None = None
) -> Report:
    if bundle is None:
        bundle = build_bundle(
            credential_id,
            version,
            ctx.read_model,
            ctx.log,
            ctx.anchors,
            ctx.log_verifier_key,
            ctx.all_witnesses,
        )
    return verify_bundle(
        bundle,
        ctx.chain,
        trusted_log_key=ctx.log_verifier_key,
        confirmations=ctx.confirmations,
        witnesses=ctx.all_witnesses,
        quorum=ctx.witness_quorum,
        current_status=lambda cid, position: version_status(
            ctx.read_model.credential(cid), position
        ),
    )


def presentation_report(
    ctx: ApiContext,
    sd_jwt: str,
    nonce: str,
    audience: str,
    ledger: WalletLedger | None = None,
) -> Report:
    """A wallet's presentation checked against this ledger's record (``ledger``: how the
    record is asked; by default the key binding's showing is spent, once)."""
    return verify_presentation(
        sd_jwt,
        nonce=nonce,
        audience=audience,
        base_url=ctx.settings.public_url_value(),
        ledger=ledger or LocalWalletLedger(ctx),
        now=ctx.ledger.clock(),
        max_age=float(ctx.settings.wallet_nonce_seconds),
    )


def held_document_report(ctx: ApiContext, document: dict[str, Any]) -> Report:
    """A Blockcerts document checked as the Blockcerts verifier would (failing closed), and,
    where this ledger holds the credential, with its record and the issuer's quality
    assurance: one combined report."""
    checked = verify_document(
        document, ctx.chain, LocalResolver(ctx), confirmations=ctx.confirmations
    )
    credential_id = document.get("ledgerCredentialId")
    version = document.get("credentialVersion")
    if not isinstance(credential_id, str) or not isinstance(version, int):
        return combine(checked, None, None)
    try:
        record: Report | None = _record(ctx, credential_id, version)
        missing = None
    except AnchorPending as exc:
        record, missing = None, exc.detail
    except NotFound:
        record, missing = None, None
    quality, parts = _register_steps(ctx, credential_id, version)
    return with_components(combine(checked, record, quality, missing), parts)


def _register_steps(
    ctx: ApiContext, credential_id: str, version: int | None
) -> tuple[Step | None, Step | None]:
    """What the register and the ledger add about a version (current by default): its
    issuer's quality assurance, and, for a stacked credential, whether its components stand."""
    found = ctx.read_model.credential(credential_id)
    if found is None:
        return None, None
    wanted = version or found["current_version"]
    content = next((v["content"] for v in found["versions"] if v["version"] == wanted), None)
    quality = quality_assurance_step(ctx.read_model.issuer(found["issuer_id"]), content)
    return quality, components_step(content, ctx.read_model.credential)


@router.post("/verify", response_model=None, summary="Verify a credential, a bundle or a document")
def verify(body: VerifyRequest, ctx: Ctx) -> dict[str, Any]:
    """Every step with pass/fail and a sentence; the verdict is ``valid`` only if all pass.

    A document is checked as the Blockcerts verifier would (failing closed), and, where this
    ledger holds the credential, together with its record and the issuer's quality assurance.
    """
    if body.edc is not None:
        return verify_sealed(body.edc, LocalSealLedger(ctx), trust_anchors(ctx)).as_dict()
    if body.sd_jwt is not None:
        assert body.nonce is not None and body.audience is not None
        report = presentation_report(ctx, body.sd_jwt, body.nonce, body.audience)
        return {**report.as_dict(), "credential": report.credential}
    if body.document is not None:
        return held_document_report(ctx, body.document).as_dict()
    if body.bundle is not None:
        credential_id = str(body.bundle.get("credential_id"))
        report = _record(ctx, credential_id, None, body.bundle)
        found = ctx.read_model.credential(credential_id)
        quality = (
            None
            if found is None
            else quality_assurance_step(
                ctx.read_model.issuer(found["issuer_id"]), bundle_content(found, body.bundle)
            )
        )
        combined = combine(None, report, quality)
        if found is not None:
            step = components_step(bundle_content(found, body.bundle), ctx.read_model.credential)
            combined = with_components(combined, step)
        return {**combined.as_dict(), "credential": report.credential}
    assert body.credential_id is not None
    report = _record(ctx, body.credential_id, body.version)
    quality, parts = _register_steps(ctx, body.credential_id, body.version)
    combined = with_components(combine(None, report, quality), parts)
    return {**combined.as_dict(), "credential": report.credential}
