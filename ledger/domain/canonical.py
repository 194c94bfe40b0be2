"""RFC 8785 (JCS) canonical JSON bytes: what issuers sign and what the log hashes."""

from __future__ import annotations

from typing import Any

import rfc8785

from ledger.domain import json_text

_MAX_SAFE_INT = 2**53 - 1


def _plain(value: Any) -> bool:
    """True when ``json.dumps`` with sorted keys already yields the JCS bytes.

    That holds for strings, booleans, null, safe integers and ASCII keys: JCS and Python then
    agree on escaping and key order. Floats (ES6 number formatting) and non-ASCII keys (UTF-16
    key order) take the reference implementation. A :class:`~ledger.domain.json_text.ConfinedObject`
    holds strings and ASCII keys only, so it is not walked. Iterative, as it runs on every
    command.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None or kind is json_text.ConfinedObject:
            continue
        if kind is dict:
            for key in item:
                if type(key) is not str or not key.isascii():
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is int:
            if not -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                return False
        else:
            return False
    return True


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 encoding of a JSON value."""
    if _plain(value):
        return _dumps(value)
    return bytes(rfc8785.dumps(value))


def canonical_form(value: Any) -> tuple[bytes, bool]:
    """The RFC 8785 bytes of ``value``, and whether parsing them gives ``value`` back exactly
    (it holds JSON's own types only, no float): a reader may then keep ``value`` and skip the
    parse."""
    if _plain(value):
        return _dumps(value), True
    return bytes(rfc8785.dumps(value)), False


def canonical_bytes_of_text(value: Any) -> bytes:
    """The same bytes for a value a schema has already confined to strings, lists and
    objects with ASCII keys (the command and learner models admit nothing else); it skips
    the walk that would prove it again."""
    return _dumps(value)


def _dumps(value: Any) -> bytes:
    # json.dumps with sorted keys, compact, UTF-8 as is: by orjson, a dozen times faster.
    return json_text.dumps_plain(value, sort_keys=True)
