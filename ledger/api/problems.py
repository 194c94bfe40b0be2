"""RFC 9457 problem documents for every failure, the unexpected ones included."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError as StoreUnavailable
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.domain.errors import (
    FieldError,
    IntakePaused,
    InvalidInput,
    LedgerError,
    MalformedRequest,
    Unavailable,
    WalletRequestRefused,
)

log = logging.getLogger("credledger.api")

PROBLEM_JSON = "application/problem+json"


def problem_response(error: LedgerError) -> JSONResponse:
    headers = {}
    if isinstance(error, WalletRequestRefused):
        # OAuth answers are never cached (RFC 6749 section 5.2); a refused token says so.
        headers["Cache-Control"] = "no-store"
        if error.status == 401:
            headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    if isinstance(error, IntakePaused):
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse(
        error.problem(), status_code=error.status, media_type=PROBLEM_JSON, headers=headers
    )


def _request_errors(exc: RequestValidationError) -> LedgerError:
    fields = []
    for error in exc.errors():
        if error["type"] in ("json_invalid", "model_attributes_type") or error["loc"] == ("body",):
            return MalformedRequest("the request body is not a JSON object of the expected shape")
        loc = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error["loc"][1:]]
        field = ".".join(loc).replace(".[", "[") or str(error["loc"][0])
        message = "is required" if error["type"] == "missing" else str(error["msg"])
        fields.append(FieldError(field, error["type"].replace("_", "-"), message))
    return InvalidInput(fields)


class _HttpProblem(LedgerError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self._status = status

    def problem(self) -> dict[str, Any]:
        body = super().problem()
        body["status"] = self._status
        body["code"] = {404: "not-found", 405: "method-not-allowed"}.get(self._status, "http-error")
        body["title"] = "Not found" if self._status == 404 else "Request not allowed"
        body["type"] = f"https://credledger.dev/problems/{body['code']}"
        return body


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at the request's path (Starlette names one route's)."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    ]


def known_problem(exc: Exception, method: str, path: str) -> JSONResponse | None:
    """The problem answer for an error the API knows (refused input, a store that is down),
    else None: what FastAPI's handlers and the direct write routes both answer with."""
    if isinstance(exc, LedgerError):
        return problem_response(exc)
    if isinstance(exc, RequestValidationError):
        return problem_response(_request_errors(exc))
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable during %s %s", method, path)
        return problem_response(
            Unavailable("the event store is unavailable; nothing was written, retry later")
        )
    if isinstance(exc, psycopg.OperationalError | PoolTimeout):
        log.warning("database unavailable during %s %s", method, path)
        return problem_response(
            Unavailable("the database is unavailable; nothing was written, retry later")
        )
    return None


def install(app: FastAPI) -> None:
    """Make every error answer with a problem document."""

    @app.exception_handler(LedgerError)
    @app.exception_handler(RequestValidationError)
    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def known(request: Request, exc: Exception) -> JSONResponse:
        answer = known_problem(exc, request.method, request.url.path)
        if answer is None:  # only the types registered here reach this handler
            raise exc
        return answer

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, LedgerError):
            # FastAPI wraps errors raised while reading the body (e.g. the size limit).
            return problem_response(exc.__cause__)
        if exc.status_code == 400:
            return problem_response(MalformedRequest(str(exc.detail)))
        error = _HttpProblem(exc.status_code, str(exc.detail))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(
            error.problem(), status_code=exc.status_code, media_type=PROBLEM_JSON, headers=headers
        )


class UnexpectedErrors:
    """Answer any error no handler knows with a 500 problem, logging only its type.

    Messages and tracebacks may quote request data, so neither is logged. This sits inside
    Starlette's own error middleware, which would log the traceback and re-raise.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log.error(
                "unexpected %s during %s %s", type(exc).__name__, scope["method"], scope["path"]
            )
            if not started:
                answer = problem_response(
                    LedgerError("an unexpected error occurred; nothing was written")
                )
                await answer(scope, receive, send)
