"""The transparency log as C2SP tlog-tiles under ``/tlog/``: the checkpoint (with the
configured witnesses' cosignature lines), hash tiles and entry bundles, readable by any tlog
client and cacheable by any proxy or CDN.

Tiles are cut from the published checkpoint's tree: a full tile never changes (cached for a
year, immutable), a partial tile and the checkpoint only until the next checkpoint.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from anchors.cosignature import cosigned_note
from anchors.tlog_tiles import TileNotFound, parse
from ledger.api.app_context import ApiContext, context
from ledger.domain.errors import NotFound

PREFIX = "/tlog"
router = APIRouter(prefix=PREFIX, tags=["transparency log (tlog-tiles)"])
Ctx = Annotated[ApiContext, Depends(context)]
_FOR_EVER = "public, max-age=31536000, immutable"
_TILL_NEXT_CHECKPOINT = "public, max-age=5"


def _published(ctx: ApiContext) -> tuple[int, str]:
    latest = ctx.log.store.latest_checkpoint()
    if latest is None:
        raise NotFound("the log has no checkpoint yet")
    return latest


@router.get(
    "/checkpoint",
    response_model=None,
    summary="The latest checkpoint, a signed note (c2sp.org/tlog-checkpoint)",
    response_class=Response,
)
def checkpoint(ctx: Ctx) -> Response:
    size, note = _published(ctx)
    cosigned = cosigned_note(note, ctx.log.store.cosignatures(size), ctx.tlog_witnesses)
    return Response(
        cosigned,
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": _TILL_NEXT_CHECKPOINT},
    )


@router.get(
    "/tile/{path:path}",
    response_model=None,
    summary="A hash tile or entry bundle (c2sp.org/tlog-tiles)",
    response_class=Response,
)
def tile(path: str, ctx: Ctx, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    try:
        wanted = parse(f"tile/{path}")
        data = ctx.full_tiles.read(ctx.log, wanted, _published(ctx)[0])
    except TileNotFound as exc:
        raise NotFound(str(exc)) from None
    etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
    headers = {
        "Cache-Control": _FOR_EVER if wanted.full else _TILL_NEXT_CHECKPOINT,
        "ETag": etag,
    }
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/octet-stream", headers=headers)
