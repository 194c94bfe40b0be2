"""RFC 9457 problem documents for every failure, and the request size limit."""

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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.errors import (
    FieldError,
    InvalidInput,
    LedgerError,
    MalformedRequest,
    TooLarge,
    Unavailable,
)

log = logging.getLogger("credledger.api")

PROBLEM_JSON = "application/problem+json"


def problem_response(error: LedgerError) -> JSONResponse:
    return JSONResponse(error.problem(), status_code=error.status, media_type=PROBLEM_JSON)


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


def install(app: FastAPI) -> None:
    """Make every error answer with a problem document."""

    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def request_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(_request_errors(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, LedgerError):
            # FastAPI wraps errors raised while reading the body (e.g. the size limit).
            return problem_response(exc.__cause__)
        if exc.status_code == 400:
            return problem_response(MalformedRequest(str(exc.detail)))
        error = _HttpProblem(exc.status_code, str(exc.detail))
        return JSONResponse(error.problem(), status_code=exc.status_code, media_type=PROBLEM_JSON)

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("store unavailable during %s %s", request.method, request.url.path)
        return problem_response(
            Unavailable("the event store is unavailable; nothing was written, retry later")
        )

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable during %s %s", request.method, request.url.path)
        return problem_response(
            Unavailable("the database is unavailable; nothing was written, retry later")
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only the type: messages and tracebacks may quote request data.
        log.error(
            "unexpected %s during %s %s", type(exc).__name__, request.method, request.url.path
        )
        return problem_response(LedgerError("an unexpected error occurred; nothing was written"))


class BodySizeLimit:
    """Refuse bodies over ``limit`` bytes with 413, whether or not they declare a length."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = TooLarge(f"the request body is larger than {self.limit} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await problem_response(too_large)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Raised inside the app, so its LedgerError handler answers 413.
                    raise too_large
            return message

        await self.app(scope, limited, send)
