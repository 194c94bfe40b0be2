"""``POST /verify``: every check of a credential or a proof bundle, with a sentence each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.api.app_context import ApiContext, context
from ledger.api.blockcerts import LocalResolver
from ledger.bundle import build_bundle
from ledger.read_model import version_status
from ledger.verify import verify_bundle
from ledger.verify_document import verify_document

router = APIRouter(tags=["verification"])
Ctx = Annotated[ApiContext, Depends(context)]


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential_id: str | None = Field(default=None, description="Verify this credential.")
    version: int | None = Field(default=None, ge=1, description="Default: the current one.")
    bundle: dict[str, Any] | None = Field(default=None, description="Or a saved proof bundle.")
    document: dict[str, Any] | None = Field(
        default=None, description="Or a Blockcerts credential document issued by this ledger."
    )

    @model_validator(mode="after")
    def one_subject(self) -> VerifyRequest:
        given = [x for x in (self.credential_id, self.bundle, self.document) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of credential_id, bundle or document")
        return self


@router.post("/verify", response_model=None, summary="Verify a credential or a proof bundle")
def verify(body: VerifyRequest, ctx: Ctx) -> dict[str, Any]:
    """Every step with pass/fail and a sentence; the verdict is ``valid`` only if all pass."""
    if body.document is not None:
        checked = verify_document(
            body.document, ctx.chain, LocalResolver(ctx), confirmations=ctx.confirmations
        )
        return checked.as_dict()
    bundle = body.bundle
    if bundle is None:
        assert body.credential_id is not None
        bundle = build_bundle(
            body.credential_id,
            body.version,
            ctx.read_model,
            ctx.log,
            ctx.anchors,
            ctx.log_verifier_key,
            ctx.witnesses,
        )
    report = verify_bundle(
        bundle,
        ctx.chain,
        trusted_log_key=ctx.log_verifier_key,
        confirmations=ctx.confirmations,
        witnesses=ctx.witnesses,
        quorum=ctx.witness_quorum,
        current_status=lambda cid, position: version_status(
            ctx.read_model.credential(cid), position
        ),
    )
    return {**report.as_dict(), "credential": report.credential}
