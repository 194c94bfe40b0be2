"""For the operator's monitoring: ``/metrics`` for Prometheus, liveness and readiness probes,
and the request telemetry every answer passes through (request id, log line, metrics)."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.app_context import ApiContext, context
from ledger.domain.errors import NotFound, NotReady
from ledger.operations import metrics as counted
from ledger.operations.logs import new_request_id, request_id

router = APIRouter(tags=["service"])
Ctx = Annotated[ApiContext, Depends(context)]
log = logging.getLogger("credledger.api")


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics (text exposition format)",
    responses={200: {"content": {counted.CONTENT_TYPE: {}}}},
)
def metrics(ctx: Ctx) -> Response:
    """Counts, sizes, positions and durations; no personal data, no credential ids."""
    if not ctx.settings.metrics:
        raise NotFound("metrics are turned off (CREDLEDGER_METRICS=false)")
    body = counted.exposition([ctx.state])
    return Response(body, media_type=counted.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/health/live", summary="Liveness: the process answers")
async def live() -> dict[str, str]:
    """Always 200 while the process serves: restart it only when this stops answering."""
    return {"status": "live"}


@router.get("/health/ready", summary="Readiness: the stores answer and the consumers keep up")
def ready(ctx: Ctx) -> dict[str, object]:
    """200 when this process should get traffic; else a 503 problem naming what is not ready."""
    reasons: list[str] = []
    lag = 0
    try:
        stored = ctx.ledger.recorder.max_notification_id() or 0
        lag = max(0, stored - ctx.read_model.position())
    except Exception as exc:
        reasons.append(f"store: unreachable ({type(exc).__name__})")
    else:
        allowed = ctx.settings.ready_max_lag_events
        if lag > allowed:
            reasons.append(f"read model: {lag} events behind the store (allowed {allowed})")
    reasons += [f"consumer: {name} is not running" for name in ctx.consumers_down()]
    if reasons:
        raise NotReady("not ready: " + "; ".join(reasons), not_ready=reasons)
    return {"status": "ready", "read_model_lag": lag}


class RequestTelemetry:
    """Gives each request an id (the client's ``X-Request-Id`` if it is a plain token), echoes
    it, logs one line per request and counts it by route template, method and status.

    Routes are labelled by template (``/credentials/{credential_id}``), never by the path: a
    path may hold a credential id, and a label per path would grow without bound.
    """

    def __init__(self, app: ASGIApp, *, count: bool) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                offered = value.decode("latin-1")
        rid = new_request_id(offered)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, answered)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            if self.count:
                found = counted.metrics()
                found.requests.labels(route, method, str(status)).inc()
                found.request_seconds.labels(route, method).observe(elapsed)
            log.info(
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                elapsed * 1000,
                extra={
                    "fields": {
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )
            request_id.reset(token)
