"""Routes of the issuer register: operator actions, key rotation, public entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ledger.api.app_context import ApiContext, context
from ledger.api.parameters import INT64_MAX
from ledger.domain.commands import IssuerRegistration, SignedCommand, StatusChange
from ledger.domain.errors import FieldError, InvalidInput, NotFound

router = APIRouter(prefix="/issuers", tags=["issuers"])
Ctx = Annotated[ApiContext, Depends(context)]


def _entry(ctx: ApiContext, issuer_id: str) -> dict[str, Any]:
    entry = ctx.read_model.issuer(issuer_id)
    if entry is None:
        raise NotFound(f"no issuer {issuer_id}")
    # The keys that sign its SD-JWT VCs, each with when it was in use.
    entry["wallet_keys"] = ctx.read_model.wallet_keys(issuer_id)
    return entry


@router.post("", response_model=None, status_code=201, summary="Register an issuer (operator)")
def register(
    registration: IssuerRegistration, request: Request, ctx: Ctx, response: Response
) -> dict[str, Any]:
    ctx.check_admin(request)
    issuer = ctx.ledger.register_issuer(registration)
    ctx.written()
    response.headers["Location"] = f"/issuers/{issuer.id}"
    return _entry(ctx, str(issuer.id))


def _status_changed(
    issuer_id: str,
    change: StatusChange,
    request: Request,
    ctx: ApiContext,
    apply: Callable[[str, str], object],
) -> dict[str, Any]:
    """An operator's change of an issuer's status, applied and then made readable."""
    ctx.check_admin(request)
    apply(issuer_id, change.reason)
    ctx.written()
    return _entry(ctx, issuer_id)


@router.post("/{issuer_id}/suspension", response_model=None, summary="Suspend an issuer (operator)")
def suspend(issuer_id: str, change: StatusChange, request: Request, ctx: Ctx) -> dict[str, Any]:
    return _status_changed(issuer_id, change, request, ctx, ctx.ledger.suspend_issuer)


@router.post(
    "/{issuer_id}/reinstatement",
    response_model=None,
    summary="Reinstate a suspended issuer (operator)",
)
def reinstate(issuer_id: str, change: StatusChange, request: Request, ctx: Ctx) -> dict[str, Any]:
    return _status_changed(issuer_id, change, request, ctx, ctx.ledger.reinstate_issuer)


@router.post(
    "/{issuer_id}/keys",
    response_model=None,
    summary="Rotate the issuer's key (signed by old and new key)",
)
def rotate_key(issuer_id: str, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    if body.command.get("issuer_id") != issuer_id:
        raise InvalidInput(
            [FieldError("command.issuer_id", "path-mismatch", "must be the issuer in the URL")]
        )
    result = ctx.ledger.rotate_key(body)
    ctx.written()
    return result.as_dict()


@router.get("", response_model=None, summary="List registered issuers")
def list_issuers(
    ctx: Ctx,
    after: Annotated[str | None, Query(description="Cursor: the last issuer_id seen")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    items = ctx.read_model.issuers(after=after, limit=limit)
    return {"items": items, "next": items[-1]["issuer_id"] if len(items) == limit else None}


@router.get("/history", response_model=None, summary="The issuer register over time, in log order")
def register_history(
    ctx: Ctx,
    after_position: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    items = ctx.read_model.register_history(after_position=after_position, limit=limit)
    return {"items": items, "next": items[-1]["position"] if len(items) == limit else None}


@router.get("/{issuer_id}", response_model=None, summary="An issuer's public register entry")
def get_issuer(issuer_id: str, ctx: Ctx) -> dict[str, Any]:
    return _entry(ctx, issuer_id)
