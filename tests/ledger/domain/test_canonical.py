"""Canonical bytes are RFC 8785 (JCS) exactly, whichever path computes them."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import rfc8785

from ledger.domain.canonical import canonical_bytes, canonical_bytes_of_text, canonical_form
from ledger.domain.commitment import commit, matches, new_salt
from ledger.domain.json_text import ConfinedObject

ALPHABET = 'aZ09 "\\/\b\f\n\r\t\x00\x1f\x7f\u00e9\u00df\u2028\u20ac\ud7ff\ue000\uffff\U0001f600'


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(12)))
    if kind == 1:
        return rng.choice([True, False, None])
    if kind == 2:
        return rng.choice([0, -1, 2**53 - 1, -(2**53 - 1), rng.randrange(-(10**6), 10**6)])
    if kind == 3:
        return rng.choice([0.5, -1e21, 1e-7, 123456789.125, 2.0, 5e-324])
    if kind == 4:
        return "plain"
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 5))) for _ in range(4)]
    return {key: random_value(rng, depth + 1) for key in keys}


def test_matches_the_reference_implementation_on_random_json() -> None:
    rng = random.Random(9162)
    for _ in range(3000):
        value = random_value(rng)
        assert canonical_bytes(value) == bytes(rfc8785.dumps(value)), value


def identical(a: Any, b: Any) -> bool:
    """Equal in value and in type, all the way down (``1 == 1.0 == True`` in Python); an
    object's members in any order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_a_value_said_to_be_exact_is_what_its_canonical_bytes_parse_to() -> None:
    rng = random.Random(7159)
    exact = 0
    for _ in range(3000):
        value = random_value(rng)
        encoded, said_exact = canonical_form(value)
        assert encoded == bytes(rfc8785.dumps(value)), value
        if said_exact:
            exact += 1
            assert identical(json.loads(encoded), value), value
    assert 0 < exact < 3000  # both kinds were drawn


def test_a_value_with_a_float_is_not_said_to_be_exact() -> None:
    assert canonical_form({"credits": 2.0}) == (b'{"credits":2}', False)


def text_value(rng: random.Random, depth: int = 0) -> Any:
    """What a command's schema admits: strings, lists and objects with ASCII keys."""
    kind = rng.randrange(3 if depth < 4 else 1)
    if kind == 0:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(12)))
    if kind == 1:
        return [text_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["".join(rng.choice("aZ09_-") for _ in range(rng.randrange(1, 5))) for _ in range(4)]
    return {key: text_value(rng, depth + 1) for key in keys}


def test_text_only_values_match_the_reference_implementation() -> None:
    rng = random.Random(8785)
    for _ in range(3000):
        value = text_value(rng)
        assert canonical_bytes_of_text(value) == bytes(rfc8785.dumps(value)), value


def test_a_confined_object_has_the_canonical_bytes_of_the_object_it_copies() -> None:
    rng = random.Random(8786)
    for _ in range(1000):
        value = {"command": text_value(rng), "count": rng.randrange(10)}
        confined = {**value, "command": ConfinedObject({"content": value["command"]})}
        expected = bytes(rfc8785.dumps({**value, "command": {"content": value["command"]}}))
        assert canonical_bytes(confined) == expected, value


def test_a_lone_surrogate_has_no_canonical_bytes() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical_bytes_of_text({"title": "a\ud800"})


def test_keys_sort_by_utf16_code_units() -> None:
    value = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    assert canonical_bytes(value) == '{"a":3,"\U0001f600":2,"\ue000":1}'.encode()


def test_a_commitment_opens_only_with_its_salt_and_data() -> None:
    learner = {"identifier": "x1", "full_name": "Zoë"}
    salt = new_salt()
    commitment = commit(learner, salt)
    assert matches(learner, salt, commitment)
    assert not matches({**learner, "full_name": "Zoe"}, salt, commitment)
    assert not matches(learner, new_salt(), commitment)
    assert not matches(learner, "00", commitment)
