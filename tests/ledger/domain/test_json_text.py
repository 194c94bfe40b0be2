"""JSON text is read as the standard library reads it: the same values of the same types, and
the same errors, whichever parser did the reading."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import json_text

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (a != a and b != b)  # NaN


@settings(max_examples=500, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_any_json_value_reads_as_the_standard_library_reads_it(value: Any, ascii: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii, indent=None if ascii else 1).encode()
    assert same(json_text.loads(text), json.loads(text))


def test_the_scan_for_long_numbers_is_built_in_c() -> None:
    assert json_text.NATIVE, "ledger/domain/json_numbers.c was not built (a C compiler)"


# Digits, the bytes that may precede a number, and others, in runs around 19 digits long.
SCANNED = st.lists(
    st.sampled_from([b"7", b"0" * 18, b"9" * 19, b"1" * 20, b"[", b":", b",", b" ", b"\t"])
    | st.sampled_from([b"\n", b"\r", b"-", b'"', b"a", b"e", b".", b"{", b"\xc3\xa9", b"\x00"]),
    max_size=12,
).map(b"".join)


@settings(max_examples=3000, deadline=None)
@given(SCANNED)
def test_the_c_scan_finds_what_the_byte_classes_find(text: bytes) -> None:
    assert json_text.NATIVE is not None
    assert json_text.NATIVE(text) is json_text._long_number_by_classes(text)


@pytest.mark.parametrize(
    ("text", "long"),
    [
        (b"", False),
        (b"123", True),  # digits only: the standard library reads it, as before
        (b"1234567890123456789", True),
        (b"x1234567890123456789", False),  # after a letter: inside a string
        (b"[1234567890123456789]", True),
        (b"[123456789012345678]", False),
        (b'"a":-1234567890123456789', True),
        (b'"id":"a1234567890123456789"', False),
    ],
)
def test_the_c_scan_on_the_edges(text: bytes, long: bool) -> None:
    assert json_text.NATIVE is not None
    assert json_text.NATIVE(text) is long is json_text._long_number_by_classes(text)


@pytest.mark.parametrize(
    "text",
    [
        b"18446744073709551616",  # past 64 bits: orjson would read a float
        b"-9223372036854775809",
        b'{"points":123456789012345678901234567890}',
        b"[1,\n 99999999999999999999]",
        b"NaN",
        b"[Infinity, -Infinity]",
        b"1e400",
        b'"\\ud800"',  # an escaped lone surrogate
        b'\xef\xbb\xbf{"a":1}',
        '{"a": "é"}'.encode("utf-16"),
        b'{"a":1,"a":2}',
    ],
)
def test_what_orjson_reads_otherwise_is_read_by_the_standard_library(text: bytes) -> None:
    assert same(json_text.loads(text), json.loads(text))


@settings(max_examples=500, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_any_json_value_is_written_as_the_standard_library_writes_it(
    value: Any, sort_keys: bool
) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
    assert json_text.dumps(value, sort_keys=sort_keys) == expected.encode()


@pytest.mark.parametrize(
    "value",
    [(1, "a"), {"a": 1e16}, {1: "a"}, {"big": 2**70}, [0.1, -0.0, 1e-7], {"d": Decimal("2.5")}],
)
def test_what_orjson_writes_otherwise_is_written_by_the_standard_library(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    assert json_text.dumps(value, default=str) == expected.encode()


TEXT_TREES = st.recursive(
    st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=st.characters(max_codepoint=127)), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(alphabet="abc_"), TEXT_TREES, max_size=5), st.booleans())
def test_a_confined_object_inside_a_value_is_written_as_the_plain_object_it_copies(
    command: dict[str, Any], sort_keys: bool
) -> None:
    value = {"issuer_id": "x", "command": json_text.ConfinedObject(command), "n": 3}
    expected = json.dumps(
        {**value, "command": command},
        separators=(",", ":"),
        ensure_ascii=False,
        sort_keys=sort_keys,
    )
    assert json_text.dumps(value, sort_keys=sort_keys) == expected.encode()


def test_a_lone_surrogate_cannot_be_written() -> None:
    with pytest.raises(UnicodeEncodeError):
        json_text.dumps({"a": "\ud800"})


def test_text_given_as_a_string_reads_the_same() -> None:
    assert json_text.loads('{"a": [1, "é", 2.5]}') == {"a": [1, "é", 2.5]}


@pytest.mark.parametrize("text", [b"{", b'{"a":}', b"[1,]", b'"a\x01b"', b"\xff", b""])
def test_bad_text_gets_the_standard_librarys_error(text: bytes) -> None:
    with pytest.raises(ValueError) as expected:
        json.loads(text)
    with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
        json_text.loads(text)
