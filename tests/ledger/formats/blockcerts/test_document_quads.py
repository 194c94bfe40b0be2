"""The direct quad writer gives, for every document the ledger can build, the very bytes the
general JSON-LD path gives (which stays the reference), and hands every other document over."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchors.jsonld import CanonicalizationError, canonical_nquads
from ledger.domain.codelists import ECTS
from ledger.domain.commitment import commit, new_salt
from ledger.domain.samples import IRELAND, credential_content
from ledger.formats.blockcerts.document import credential_document
from ledger.formats.blockcerts.document_quads import (
    document_hash,
    ledger_nquads,
    ledger_nquads_in_python,
)

ESCO = "http://data.europa.eu/esco/skill/"
COUNTRIES = [IRELAND, "http://publications.europa.eu/resource/authority/country/DEU"]
ASSESSMENTS = [
    "http://data.europa.eu/snb/assessment/795dac4096",
    "http://data.europa.eu/snb/assessment/3f2c3b4a55",
]
# Any text at all: non-ASCII, quotes, backslashes, line breaks, control characters.
TEXT = st.text(min_size=1, max_size=30)
POINTS = st.one_of(
    st.sampled_from(["5", "2.5", "0.5"]),
    st.integers(min_value=0, max_value=10**6),
    st.floats(min_value=0.01, max_value=1e6, allow_nan=False).filter(lambda f: f != int(f)),
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def contents(draw: st.DrawFn) -> dict[str, Any]:
    content = credential_content(
        datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
        title=draw(TEXT),
    )
    content["learning_outcomes"] = [
        {
            "text": draw(TEXT),
            **({"esco_skill": ESCO + s} if (s := draw(maybe(st.uuids().map(str)))) else {}),
        }
        for _ in range(draw(st.integers(1, 4)))
    ]
    content["awarding_bodies"] = [
        {
            "legal_name": draw(TEXT),
            "country": draw(st.sampled_from(COUNTRIES)),
            **({"identifier": i} if (i := draw(maybe(TEXT))) else {}),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    content["issuer_country"] = draw(st.sampled_from(COUNTRIES))
    content["workload"] = {
        "credit_points": [
            {"framework": ECTS, "point": draw(POINTS)} for _ in range(draw(st.integers(0, 2)))
        ],
        **({"volume_of_learning": "PT12H"} if draw(st.booleans()) else {}),
    }
    content["assessment_types"] = draw(
        st.lists(st.sampled_from(ASSESSMENTS), min_size=1, max_size=3)
    )
    optional: dict[str, Any] = {
        "eqf_level": "http://data.europa.eu/snb/eqf/5",
        "nqf_level": "http://data.europa.eu/snb/qdr/c_e2d8b6d8",
        "language": "http://publications.europa.eu/resource/authority/language/FRA",
        "awarding_date": "2026-11-29T10:00:00+01:00",
        "prerequisites": draw(TEXT),
        "supervision": draw(TEXT),
        "grade": {"value": draw(TEXT), **({"scheme": draw(TEXT)} if draw(st.booleans()) else {})},
        "further_information": draw(TEXT),
        "valid_until": "2031-11-30T00:00:00+00:00",
        "issuer_region": draw(TEXT),
        "stackability": {
            "option": "stackable",
            **(
                {
                    "towards": {
                        "title": draw(TEXT),
                        **({"id": draw(TEXT)} if draw(st.booleans()) else {}),
                    }
                }
                if draw(st.booleans())
                else {}
            ),
        },
    }
    for key, value in optional.items():
        if draw(st.booleans()):
            content[key] = value
        else:
            content.pop(key, None)
    if not draw(st.booleans()):
        content["form_of_participation"].pop("learning_setting", None)
    qa = content["quality_assurance"]
    qa["body"] = draw(TEXT)
    if draw(st.booleans()):
        qa.pop("reference", None)
    parts = draw(st.integers(0, 3))
    if parts:
        content["has_part"] = [
            {"credential_id": draw(TEXT), "version": draw(st.integers(1, 50))} for _ in range(parts)
        ]
        content["recognition_id"] = draw(TEXT)
    return content


@st.composite
def learners(draw: st.DrawFn) -> dict[str, Any]:
    learner = {"identifier": draw(TEXT), "full_name": draw(TEXT)}
    for key, value in (
        ("given_name", TEXT),
        ("family_name", TEXT),
        ("date_of_birth", st.just("2001-02-03")),
        ("email", TEXT),
    ):
        if draw(st.booleans()):
            learner[key] = draw(value)
    return learner


def document_of(
    content: dict[str, Any], learner: dict[str, Any], version: int = 1
) -> dict[str, Any]:
    salt = new_salt()
    content = {**content, "learner": {"commitment": commit(learner, salt)}}
    return credential_document(
        credential_id="c-1",
        version=version,
        content=content,
        learner=learner,
        salt=salt,
        issuer_profile_url="https://ledger.example.eu/issuers/9/profile",
    )


@settings(max_examples=300, deadline=None)
@given(contents(), learners(), st.integers(1, 2**40))
def test_every_ledger_document_gets_the_bytes_of_the_general_path(
    content: dict[str, Any], learner: dict[str, Any], version: int
) -> None:
    document = document_of(content, learner, version)
    direct = ledger_nquads(document)
    assert direct is not None
    assert direct == canonical_nquads(document)


def sample_document() -> dict[str, Any]:
    return document_of(
        credential_content(datetime(2026, 1, 1, tzinfo=UTC)),
        {"identifier": "s", "full_name": "Zoë"},
    )


def test_the_proof_is_left_out_as_the_general_path_leaves_it_out() -> None:
    document = sample_document()
    proved = {**document, "proof": {"type": "MerkleProof2019", "proofValue": "z"}}
    assert ledger_nquads(proved) == canonical_nquads(document)
    assert document_hash(proved) == document_hash(document)


@pytest.mark.parametrize(
    "change",
    [
        {"nickname": "Zo"},  # a term no context defines
        {"@context": ["https://www.w3.org/ns/credentials/v2"]},  # another context
        {"credentialVersion": 2.0},  # an integral float
        {"name": ["a", {"@value": "b"}]},  # a JSON-LD keyword
        {"issuer": {"id": "not an iri", "type": "Organisation"}},
        # a credential's type on a nested node (VC 2.0 gives it a context of its own)
        {"issuer": {"id": "https://x.example/i", "type": "VerifiableCredential", "name": "n"}},
        {"issuer": {"id": "https://x.example/i", "validFrom": "2026-01-01T00:00:00Z"}},
    ],
)
def test_a_document_of_another_shape_goes_to_the_general_path(change: dict[str, Any]) -> None:
    document = {**sample_document(), **change}
    assert ledger_nquads(document) is None
    try:
        expected = canonical_nquads(document)
    except CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            document_hash(document)
    else:
        assert document_hash(document) == hashlib.sha256(expected.encode()).digest()


# Every character canonical N-Quads escapes, and some it must leave as they are.
ESCAPED_OR_NOT = [*map(chr, range(0x20)), "\x7f", "\ufffe", "\uffff", "\\", '"', "é", "\U0001f600"]


@pytest.mark.parametrize("character", ESCAPED_OR_NOT, ids=lambda c: f"U+{ord(c):04X}")
def test_text_is_escaped_as_the_general_path_escapes_it(character: str) -> None:
    content = credential_content(datetime(2026, 1, 1, tzinfo=UTC), title=f"a{character}b")
    document = document_of(content, {"identifier": "s", "full_name": f"Zo{character}"})
    assert ledger_nquads(document) == canonical_nquads(document)


def test_a_lone_surrogate_gets_the_general_paths_answer() -> None:
    document = document_of(
        credential_content(datetime(2026, 1, 1, tzinfo=UTC), title="a\ud800b"),
        {"identifier": "s", "full_name": "Zoë"},
    )
    with pytest.raises(CanonicalizationError, match="not Unicode"):
        canonical_nquads(document)
    with pytest.raises(CanonicalizationError, match="not Unicode"):
        document_hash(document)


# The C writer (anchors/rdfc_tree.c) writes the plain case and hands every other back: either
# way ledger_nquads gives the Python writer's bytes.


@settings(max_examples=300, deadline=None)
@given(contents(), learners(), st.integers(1, 2**40))
def test_the_c_writer_gives_the_python_writers_bytes_for_every_ledger_document(
    content: dict[str, Any], learner: dict[str, Any], version: int
) -> None:
    document = document_of(content, learner, version)
    assert ledger_nquads(document) == ledger_nquads_in_python(document)


class Text(str):
    """A str subclass: the C writer leaves it to the Python."""


EDGES: list[dict[str, Any]] = [
    {"credentialVersion": 2**63},  # beyond 64 bits
    {"credentialVersion": -(2**63)},
    {"credentialVersion": 10**21},  # JSON-LD writes it as a double
    {"credentialVersion": True},
    {"credentialVersion": 2.5},
    {"name": Text("a subclass")},
    {"name": ["twice", "twice", "once"]},  # a quad written twice counts once
    {"name": '\x00\x1f\x7f\ufffe\uffff\\"\n\r\b\t\f\u00e9\U0001f600'},
    {"issuer": {"id": "https://x.example/i\n", "type": "Organisation"}},  # re's $ before \n
    {"issuer": {"id": "https://x.example/i j", "type": "Organisation"}},
    {"issuer": {"id": "h:", "type": "Organisation"}},
    {"issuer": {"id": "https://x.example/é", "type": ["Organisation", "Organisation"]}},
    {"issuer": {"id": None, "type": "Organisation"}},  # an id of null is a blank node
    {"issuer": {"id": 7, "type": "Organisation"}},
    {"issuer": {"type": 7}},
    {"issuer": {"type": Text("Organisation")}},
    {"issuer": {"type": ["Organisation", None]}},
    {"issuer": [{"type": "Organisation"}, {"type": "Organisation"}]},
    {"issuer": [["nested"]]},
    {"issuer": None},
    {"nickname": "Zo"},
    {"name": "a\ud800b"},  # a lone surrogate
]


@pytest.mark.parametrize("change", EDGES, ids=repr)
def test_the_c_writer_gives_the_python_writers_answer_at_every_edge(change: dict[str, Any]) -> None:
    document = {**sample_document(), **change}
    assert ledger_nquads(document) == ledger_nquads_in_python(document)


def test_the_c_writer_gives_the_python_writers_answer_for_a_tree_deeper_than_it_writes() -> None:
    node: dict[str, Any] = {"type": "Organisation"}
    for _ in range(100):
        node = {"type": "Organisation", "legalName": "n", "hasPart": node}
    document = {**sample_document(), "issuer": node}
    assert ledger_nquads(document) == ledger_nquads_in_python(document)
