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

# A backslash and the byte it escapes (in valid JSON, only ever inside a string).
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
# What delimits strings and nests: once the escapes are gone, removing everything else keeps
# every string's bounds.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
# Depth alone is counted: an object's braces as an array's brackets.
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


def _brackets_outside_strings(body: bytes) -> bytes:
    """The brackets of JSON ``body`` that are not inside strings, in order, braces written as
    brackets.

    Escapes are removed first, so that the quotes left alternate between opening and closing
    strings. Two adjacent quotes then close and open strings with nothing between them that
    matters, or open and close an empty one: removing them changes no bracket's place, and
    leaves quotes only around strings with brackets in them (few, usually none).
    """
    unescaped = _ESCAPE.sub(b"", body) if b"\\" in body else body
    structure = unescaped.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    return structure.translate(_BRACES_AS_BRACKETS)


def nesting_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON ``body`` nests arrays and objects more than ``limit`` deep.

    Brackets inside strings do not count. A body with fewer opening brackets than the limit
    cannot exceed it, which settles almost every single request without a scan; otherwise the
    innermost pairs are removed, a level a time, ``limit`` times.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _brackets_outside_strings(body)
    for _ in range(limit):
        if not brackets:
            return False
        # One level: the pairs a removal brings together are left for the next.
        brackets = brackets.replace(b"[]", b"")
    if b"[]" in brackets:
        return True  # a pair still nested deeper than the limit
    # Brackets left unpaired (JSON the parser will refuse): their own depth decides.
    depth = 0
    for bracket in brackets:
        depth += 1 if bracket == ord("[") else -1
        if depth > limit:
            return True
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
