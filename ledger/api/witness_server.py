"""The HTTP face of ``credledger witness serve``: C2SP tlog-witness's one endpoint,
``POST /add-checkpoint``, over a :class:`CosigningWitness`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from anchors.cosigning_witness import MAX_REQUEST_BYTES, CosigningWitness


def create_witness_app(witness: CosigningWitness) -> Starlette:
    """An ASGI app that answers add-checkpoint requests (and nothing else)."""

    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                return Response("the request is too large\n", status_code=413)
        # Proof checks and the fsync of the state file stay off the event loop.
        answer = await run_in_threadpool(witness.add_checkpoint, bytes(body))
        return Response(answer.body, status_code=answer.status, media_type=answer.media_type)

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])])
