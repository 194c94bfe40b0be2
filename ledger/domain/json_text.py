"""JSON text read and written exactly as the standard library does, by orjson where the two
agree.

orjson parses several times faster than :func:`json.loads`, which every request body and every
stored event goes through, and writes ten times faster than :func:`json.dumps`. Reading, the
two differ on a few inputs: orjson refuses what the standard library accepts beyond RFC 8259
(NaN, Infinity, escaped lone surrogates, a UTF-8 byte-order mark, UTF-16 and UTF-32), and it
reads an integer beyond 64 bits as a float. Anything orjson refuses, and any text with a run of
19 digits or more where a number may start, is read by :func:`json.loads` instead, so values,
types and error messages stay the standard library's. Writing, the two give the same bytes for
strings, integers, booleans, null, lists and objects with string keys (sorted or not); a value
with anything else in it (a float, which they format differently; a tuple; a type the standard
library would hand to a ``default``) is written by :func:`json.dumps`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

# 19 digits where a number may start: an integer that might not fit 64 bits (or such a run of
# digits in a string, read the slow way for nothing). Found by mapping every byte to its class
# (digit, "may precede a number", other) and looking for the pattern: a regular expression
# takes ten times as long.
_CLASSES = bytes(
    ord("0") if byte in b"0123456789" else ord(":") if byte in b"[:, \t\n\r-" else ord("x")
    for byte in range(256)
)
_LONG_NUMBER = b":" + b"0" * 19


def _long_number_by_classes(text: bytes) -> bool:
    """Whether ``text`` starts with 19 digits or has 19 after a byte that may precede a number
    (the oracle of ``ledger/domain/json_numbers.c``, which answers without the copy)."""
    return text[:19].isdigit() or _LONG_NUMBER in text.translate(_CLASSES)


def _native() -> Callable[[bytes], bool] | None:
    try:
        from ledger.domain.json_numbers import has_long_number
    except ImportError:  # built without a C compiler: the package is whole without it
        return None
    return has_long_number


NATIVE = _native()
_long_number = NATIVE or _long_number_by_classes


def loads(text: bytes | str) -> Any:
    """The value of JSON ``text``, as :func:`json.loads` gives it (and its errors)."""
    if type(text) is bytes and not _long_number(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


class ConfinedObject(dict[str, Any]):
    """A JSON object that a schema has confined to strings, lists and objects with ASCII keys
    (the command and learner models admit nothing else): the writers here and in
    :mod:`ledger.domain.canonical` take it as it is, without the walk that would prove it
    again. Both orjson and :func:`json.dumps` write it as the plain object it copies."""


def _plain(value: Any) -> bool:
    """Whether orjson writes ``value`` as json.dumps does (iterative: it runs on every event)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None or kind is ConfinedObject:
            continue
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        else:
            return False
    return True


def dumps(
    value: Any, *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None
) -> bytes:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=…,
    default=…)`` as UTF-8 bytes (and its errors)."""
    if _plain(value):
        return dumps_plain(value, sort_keys=sort_keys)
    text = json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys, default=default
    )
    return text.encode("utf-8")


def dumps_plain(value: Any, *, sort_keys: bool = False) -> bytes:
    """:func:`dumps` of a value its caller knows to hold only strings, integers, booleans,
    null, lists and string-keyed objects (it is not walked to check)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:
        # An integer past 64 bits or a lone surrogate: the json module's answer or error.
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
        return text.encode("utf-8")
