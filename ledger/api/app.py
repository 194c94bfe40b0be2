"""Building the FastAPI application around a ledger and its read model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ledger import __version__
from ledger.api import (
    blockcerts,
    credentials,
    edc,
    issuers,
    log,
    openapi,
    operations,
    pathways,
    problems,
    state,
    tlog,
    verification,
    wallets,
    web,
)
from ledger.api.app_context import ApiContext
from ledger.api.body_limits import BodyLimits
from ledger.api.direct_writes import DirectWrites, direct_routes
from ledger.operations import metrics as counted


def create_app(ctx: ApiContext, on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """The API over ``ctx``; a projector must keep ``ctx.read_model`` up to date.

    ``on_shutdown`` runs when the server stops (uvicorn ends the process right after, by
    re-raising the signal it caught, so cleanup cannot wait for the caller's ``finally``).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ctx.hear_positions_on(asyncio.get_running_loop())
        yield
        ctx.close()
        if on_shutdown is not None:
            on_shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="credledger",
        docs_url=None,  # served by ledger.api.web from the package, not from a CDN
        redoc_url=None,
        # Requests are counted and logged by our own telemetry (Prometheus, log lines); FastAPI's
        # OpenTelemetry hooks would otherwise ask for a provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        version=__version__,
        description=(
            "An event-sourced ledger for EU micro-credentials. Issuers post signed commands; "
            "anyone can read a credential's public status. Errors are RFC 9457 problem "
            "documents with a stable `code`."
        ),
    )
    app.state.context = ctx
    problems.install(app)
    app.include_router(blockcerts.router)
    app.include_router(issuers.router)
    app.include_router(credentials.router)
    app.include_router(edc.router)
    app.include_router(wallets.router)
    app.include_router(pathways.router)
    app.include_router(log.router)
    app.include_router(tlog.router)
    app.include_router(verification.router)
    app.include_router(state.router)
    app.include_router(operations.router)
    web.install(app)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, object]:
        return {
            "status": "ok",
            "log_size": ctx.ledger.recorder.max_notification_id() or 0,
            "read_model_position": ctx.read_model.position(),
            "anchoring": ctx.anchoring_health(),
        }

    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    # Innermost: the write routes that carry the load skip FastAPI's per-request machinery.
    hot: list[Callable[..., object]] = [
        credentials.issue,
        credentials.bulk_issue,
        credentials.amend,
        credentials.revoke,
        wallets.credential,
    ]
    declared = [*credentials.router.routes, *wallets.router.routes]
    # A single credential's write to the embedded store takes a millisecond or two: alone, it
    # is written on the loop. Bulk requests (tens of milliseconds), wallet deliveries and
    # PostgreSQL's writes (a round trip, perhaps a lock wait on another worker) never are.
    single: list[Callable[..., object]] = [credentials.issue, credentials.amend, credentials.revoke]
    lone_on_loop = single if ctx.settings.store == "sqlite" else []
    routes = direct_routes(declared, hot, lone_on_loop=lone_on_loop)
    app.add_middleware(DirectWrites, ctx=ctx, routes=routes)
    app.add_middleware(BodyLimits, max_bytes=ctx.settings.max_request_bytes)
    app.add_middleware(problems.UnexpectedErrors)
    counted.enable(ctx.settings.metrics)
    # Outermost: the request id is set before anything logs, and every answer is counted.
    app.add_middleware(operations.RequestTelemetry, count=ctx.settings.metrics)
    return app
