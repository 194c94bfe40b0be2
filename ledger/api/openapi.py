"""The OpenAPI document, with every operation's problem responses (RFC 9457) declared.

FastAPI documents only successes and its own validation error; clients and schemathesis need
to see the problems an operation can answer with, all as ``application/problem+json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document with a stable machine-readable code.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "For invalid input: each rejected field, the rule and why.",
            "items": {
                "type": "object",
                "required": ["field", "rule", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "rule": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

_MEANINGS = {
    "400": "Malformed request: not JSON, or nested too deep",
    "401": "Bad or unknown signature, or no admin token",
    "403": "Suspended issuer, or not the issuer's credential",
    "404": "Unknown resource",
    "409": "Conflict: revoked twice, amend after revoke, concurrent write, command id reused",
    "413": "Request body or bulk request too large",
    "422": "Invalid input: every rejected field named, with its rule",
    "500": "Unexpected error; nothing was written",
    "503": "A dependency is down, or (issuer commands) the intake is paused while the "
    "consumers catch up; nothing was written, retry later (after Retry-After, when given)",
}


def _problem_codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["500", "503"]
    if operation.get("parameters") or operation.get("requestBody"):
        codes.append("422")
    if "{" in path:
        codes.append("404")
    if method == "post":
        codes += ["400", "413"]
        if path != "/verify":
            codes += ["401", "403", "409"]
    return sorted(set(codes))


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with problem responses (built once, then cached)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    reference = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for code in _problem_codes(path, method, operation):
                responses[code] = {
                    "description": _MEANINGS[code],
                    "content": {"application/problem+json": reference},
                }
    app.openapi_schema = spec
    return spec
