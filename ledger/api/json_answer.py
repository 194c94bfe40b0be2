"""A JSON answer written by the ledger's own writer, for the large ones.

FastAPI hands a route's returned value to its ``jsonable_encoder``, which walks every nested
object looking for something to convert, and then to the standard library's writer. A page of
anchors (a thousand documents each) or a bulk request's results have nothing to convert, and
:func:`ledger.domain.json_text.dumps` writes them, byte for byte as JSONResponse would, several
times faster.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from ledger.domain import json_text


class JsonAnswer(Response):
    """``application/json`` of a value holding only JSON's own types."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_text.dumps(content)
