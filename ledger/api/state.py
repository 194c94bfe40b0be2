"""``GET /state/digest``: what an auditor's replay of the history must reproduce."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from ledger.api.app_context import ApiContext, context

router = APIRouter(prefix="/state", tags=["audit"])
Ctx = Annotated[ApiContext, Depends(context)]


@router.get(
    "/digest", response_model=None, summary="Digest of the read model, and what it reflects"
)
def digest(ctx: Ctx) -> dict[str, Any]:
    """SHA-256 over every read-model row in key order, the event position it reflects, and the
    log size that covers that position (null while the log has not reached it)."""
    value, position = ctx.read_model.digest()
    index = ctx.log.store.index_of(position) if position else None
    return {
        "digest": value,
        "position": position,
        "log_size": None if index is None else index + 1,
    }
