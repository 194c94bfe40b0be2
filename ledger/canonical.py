"""RFC 8785 (JCS) canonical JSON bytes: what issuers sign and what the log hashes."""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_MAX_SAFE_INT = 2**53 - 1


def _plain(value: Any) -> bool:
    """True when ``json.dumps`` with sorted keys already yields the JCS bytes.

    That holds for strings, booleans, null, safe integers and ASCII keys: JCS and Python then
    agree on escaping and key order. Floats (ES6 number formatting) and non-ASCII keys (UTF-16
    key order) take the reference implementation.
    """
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT
    if isinstance(value, dict):
        return all(k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 encoding of a JSON value."""
    if _plain(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8"
        )
    return bytes(rfc8785.dumps(value))
