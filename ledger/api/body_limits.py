"""Limits on a request body, enforced before anything parses it: size and JSON nesting depth.

A body nested deeper than any command, bundle or document can be is refused by scanning its
bytes, so no parser ever recurses into it (400, naming the limit); a body over the size limit
is refused as it arrives (413), whether or not it declared its length.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.problems import problem_response
from ledger.domain.errors import MalformedRequest, TooLarge

MAX_JSON_DEPTH = 64
"""Deeper than every body the API takes (a bulk request is 8 levels, a Blockcerts document 12)."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# Everything but what delimits strings and nests: removing it keeps every string's bounds.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"\\')
_OPENING = frozenset(b"[{")


def nesting_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON ``body`` nests arrays and objects more than ``limit`` deep.

    Brackets inside strings do not count. A body with fewer opening brackets than the limit
    cannot exceed it, which settles almost every request without a scan.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    # Brackets, quotes and backslashes only (a fraction of the body), then strings out.
    structure = body.translate(None, _NOT_STRUCTURE)
    for bracket in _STRING.sub(b"", structure).translate(None, _NOT_BRACKET):
        if bracket in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BodyLimits:
    """Reads the whole body, refuses it if too large or too deep, then hands it on."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_large = TooLarge(f"the request body is larger than {self.max_bytes} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response(too_large)(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await problem_response(too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if nesting_depth_exceeds(body, self.max_depth):
            deep = MalformedRequest(
                f"the request body nests arrays and objects more than {self.max_depth} deep"
            )
            await problem_response(deep)(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
