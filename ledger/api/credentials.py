"""Routes for credentials: signed issuer commands and public status queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict

from ledger.api import bulk
from ledger.api.app_context import ApiContext, context
from ledger.api.blockcerts import credential_status
from ledger.api.json_answer import JsonAnswer
from ledger.api.parameters import INT64_MAX, named_in_path
from ledger.application.service import CommandResult
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import NotFound
from ledger.verify.bundle import build_bundle

router = APIRouter(prefix="/credentials", tags=["credentials"])
Ctx = Annotated[ApiContext, Depends(context)]


class BulkIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[SignedCommand]


def _answer(result: CommandResult, response: Response, created: bool = False) -> dict[str, Any]:
    if created and not result.replayed:
        response.status_code = 201
        response.headers["Location"] = f"/credentials/{result.credential_id}"
    return result.as_dict()


@router.post("", response_model=None, status_code=200, summary="Issue a credential (signed)")
def issue(body: SignedCommand, ctx: Ctx, response: Response) -> dict[str, Any]:
    """201 with the new credential's id; a repeated command id answers 200 with the first
    result and ``replayed: true``."""
    ctx.intake.admit()
    result = ctx.ledger.issue(body)
    ctx.written()
    return _answer(result, response, created=True)


@router.post(
    "/bulk",
    response_model=None,
    response_class=JsonAnswer,
    summary="Issue many credentials; each item succeeds or fails on its own",
)
def bulk_issue(body: BulkIssue, ctx: Ctx) -> JsonAnswer:
    bulk.within_limit(ctx, len(body.items))
    ctx.intake.admit()
    outcomes = ctx.ledger.issue_many(body.items)
    ctx.written()
    return JsonAnswer(bulk.answer(outcomes))


def _decided(
    credential_id: str,
    body: SignedCommand,
    ctx: ApiContext,
    decide: Callable[[SignedCommand], CommandResult],
    *,
    gated: bool = True,
) -> dict[str, Any]:
    """A signed command on the credential in the URL, decided and then made readable."""
    named_in_path(body, "credential_id", credential_id)
    if gated:
        ctx.intake.admit()
    result = decide(body)
    ctx.written()
    return result.as_dict()


@router.post(
    "/{credential_id}/amendments", response_model=None, summary="Amend a credential (signed)"
)
def amend(credential_id: str, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    return _decided(credential_id, body, ctx, ctx.ledger.amend)


@router.post(
    "/{credential_id}/revocation", response_model=None, summary="Revoke a credential (signed)"
)
def revoke(credential_id: str, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    return _decided(credential_id, body, ctx, ctx.ledger.revoke)


@router.post(
    "/{credential_id}/erasure",
    response_model=None,
    summary="Erase the learner's personal data (signed)",
)
def erase(credential_id: str, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    # A learner's erasure is never held behind a backlog of issuance.
    return _decided(credential_id, body, ctx, ctx.ledger.erase, gated=False)


@router.post(
    response_model=None,
    path="/{credential_id}/personal-data",
    summary="Read the learner's data (signed by the credential's issuer, fresh)",
)
def personal_data(credential_id: str, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    named_in_path(body, "credential_id", credential_id)
    opened = ctx.ledger.read_personal_data(body)
    return {"credential_id": credential_id, "learner": opened.learner, "salt": opened.salt}


@router.get("", response_model=None, summary="List credentials (public summaries)")
def list_credentials(
    ctx: Ctx,
    issuer_id: str | None = None,
    status: Literal["active", "revoked"] | None = None,
    after: Annotated[str | None, Query(description="Cursor: the last credential_id seen")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    items = ctx.read_model.credentials(issuer_id=issuer_id, status=status, after=after, limit=limit)
    return {"items": items, "next": items[-1]["credential_id"] if len(items) == limit else None}


@router.get(
    "/{credential_id}",
    response_model=None,
    summary="A credential's public status, version history and anchoring",
)
def status(credential_id: str, ctx: Ctx) -> dict[str, Any]:
    found = ctx.read_model.credential(credential_id)
    if found is None:
        raise NotFound(f"no credential {credential_id}")
    for version in found["versions"]:
        version["anchor"] = ctx.anchor_state(version["log_position"])
    found["credentialStatus"] = credential_status(ctx, credential_id)
    # How many SD-JWT VCs of it went to wallets (each delivery is an event in the log).
    found["wallet_deliveries"] = ctx.read_model.wallet_deliveries(credential_id)
    return found


@router.get(
    "/{credential_id}/proof",
    response_model=None,
    summary="A self-contained proof bundle of a credential version",
)
def proof(
    credential_id: str,
    ctx: Ctx,
    version: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="Default: the current one")
    ] = None,
) -> dict[str, Any]:
    return build_bundle(
        credential_id,
        version,
        ctx.read_model,
        ctx.log,
        ctx.anchors,
        ctx.log_verifier_key,
        ctx.all_witnesses,
    )
