"""Routes of the transparency log: its key, checkpoints, entries and proofs."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from anchors.checkpoint import Checkpoint
from anchors.cosignature import cosigned_note
from anchors.witness import verify_cosignature
from ledger.api.app_context import ApiContext, context
from ledger.api.json_answer import JsonAnswer
from ledger.api.parameters import INT64_MAX
from ledger.domain.errors import FieldError, Forbidden, InvalidInput, NotFound, SignatureInvalid
from ledger.verify.bundle import witnessed

# Leaves after which a page of anchors ends, whatever its limit (each leaf names a document).
ANCHOR_PAGE_LEAVES = 20_000

router = APIRouter(prefix="/log", tags=["transparency log"])
Ctx = Annotated[ApiContext, Depends(context)]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def cosignatures(ctx: ApiContext, size: int) -> dict[str, Any]:
    return witnessed(ctx.log, size, ctx.witnesses)


def _checkpoint(ctx: ApiContext, note: str) -> dict[str, Any]:
    checkpoint = Checkpoint.parse(note.partition("\n\n")[0] + "\n")
    return {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": _b64(checkpoint.root),
        "note": note,
        "cosignatures": cosignatures(ctx, checkpoint.size),
        # The note with the C2SP witnesses' cosignature/v1 lines, as /tlog/checkpoint serves it.
        "cosigned_note": cosigned_note(
            note, ctx.log.store.cosignatures(checkpoint.size), ctx.tlog_witnesses
        ),
    }


def _size_within(ctx: ApiContext, field: str, size: int) -> None:
    if size > ctx.log.size():
        raise InvalidInput(
            [FieldError(field, "beyond-log", f"the log has {ctx.log.size()} entries")]
        )


@router.get("/key", response_model=None, summary="The log's origin and checkpoint verifier key")
def key(ctx: Ctx) -> dict[str, Any]:
    return {"origin": ctx.log_origin, "verifier_key": ctx.log_verifier_key}


@router.get("/chain", response_model=None, summary="Where anchors go: chain id and address")
def chain(ctx: Ctx) -> dict[str, object]:
    return dict(ctx.chain_info)


@router.get("/state", response_model=None, summary="The log's size and the last event position")
def state(ctx: Ctx) -> dict[str, Any]:
    size, position = ctx.log.store.state()
    return {"size": size, "position": position}


@router.get(
    "/anchors",
    response_model=None,
    response_class=JsonAnswer,
    summary="Recorded anchors, oldest first",
)
def anchors(
    ctx: Ctx,
    after_size: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JsonAnswer:
    items = []
    leaves = 0
    listed = ctx.log.store.checkpoints(after_size, limit)
    for size, _ in listed:
        record = ctx.anchors.get(size)
        if record is not None and record.state == "recorded":
            items.append(record.mined())
            leaves += len(record.leaves)
        if leaves >= ANCHOR_PAGE_LEAVES:
            # Large batches: a page of 500 could be hundreds of megabytes.
            return JsonAnswer({"items": items, "next": size})
    return JsonAnswer({"items": items, "next": listed[-1][0] if len(listed) == limit else None})


@router.get("/witnesses", response_model=None, summary="The trusted witnesses and the quorum")
def witnesses(ctx: Ctx) -> dict[str, Any]:
    configured = [w for w in ctx.settings.witnesses if w.get("key") in ctx.witnesses]
    return {
        "quorum": ctx.witness_quorum,
        "witnesses": configured,
        "c2sp_witnesses": list(ctx.tlog_witnesses),
    }


class CosignatureSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=1, le=INT64_MAX, description="The size of the cosigned checkpoint.")
    witness: str = Field(description="The witness's BLS12-381 public key, hex.")
    signature: str = Field(description="Its signature over the checkpoint, hex.")


@router.post("/cosignatures", response_model=None, summary="A witness submits a cosignature")
def submit_cosignature(body: CosignatureSubmission, ctx: Ctx) -> dict[str, Any]:
    if body.witness not in ctx.witnesses:
        raise Forbidden("this witness is not among the ledger's trusted witnesses")
    note = dict(ctx.log.store.checkpoints(body.size - 1, 1)).get(body.size)
    if note is None:
        raise NotFound(f"no checkpoint of size {body.size}")
    if not verify_cosignature(body.witness, note.partition("\n\n")[0] + "\n", body.signature):
        raise SignatureInvalid("the cosignature does not verify for this checkpoint")
    ctx.log.store.add_cosignature(body.size, body.witness, body.signature)
    return {"size": body.size, **cosignatures(ctx, body.size)}


@router.get("/checkpoint", response_model=None, summary="The latest signed checkpoint")
def checkpoint(ctx: Ctx) -> dict[str, Any]:
    latest = ctx.log.store.latest_checkpoint()
    if latest is None:
        raise NotFound("no checkpoint has been signed yet")
    return _checkpoint(ctx, latest[1])


@router.get("/checkpoints", response_model=None, summary="Signed checkpoints, oldest first")
def checkpoints(
    ctx: Ctx,
    after_size: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    items = [_checkpoint(ctx, note) for _, note in ctx.log.store.checkpoints(after_size, limit)]
    return {"items": items, "next": items[-1]["size"] if len(items) == limit else None}


@router.get("/entries", response_model=None, summary="Log entries (canonical envelopes)")
def entries(
    ctx: Ctx,
    response: Response,
    start: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    # The stop is bounded too: start + limit may pass the stores' 64-bit integers.
    found = ctx.log.store.entries(start, min(start + limit, INT64_MAX))
    if len(found) == limit:
        # A full page of an append-only log never changes.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return {
        "start": start,
        "entries": [entry.decode() for entry in found],
        "next": start + len(found) if len(found) == limit else None,
    }


@router.get("/proof/inclusion", response_model=None, summary="RFC 9162 inclusion proof")
def inclusion(
    ctx: Ctx,
    index: Annotated[int, Query(ge=0, le=INT64_MAX)],
    size: Annotated[int, Query(ge=1, le=INT64_MAX)],
) -> dict[str, Any]:
    _size_within(ctx, "size", size)
    if index >= size:
        raise InvalidInput([FieldError("index", "beyond-size", "must be below size")])
    proof = ctx.log.inclusion_proof(index, size)
    return {
        "index": index,
        "size": size,
        "leaf_hash": _b64(ctx.log.leaf_hash(index)),
        "hashes": [_b64(h) for h in proof.hashes],
    }


@router.get("/proof/consistency", response_model=None, summary="RFC 9162 consistency proof")
def consistency(
    ctx: Ctx,
    old_size: Annotated[int, Query(ge=1, le=INT64_MAX)],
    new_size: Annotated[int, Query(ge=1, le=INT64_MAX)],
) -> dict[str, Any]:
    _size_within(ctx, "new_size", new_size)
    if old_size > new_size:
        raise InvalidInput([FieldError("old_size", "beyond-size", "must not exceed new_size")])
    proof = ctx.log.consistency_proof(old_size, new_size)
    return {
        "old_size": old_size,
        "new_size": new_size,
        "hashes": [_b64(h) for h in proof.hashes],
    }
