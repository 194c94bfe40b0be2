"""RDFC-1.0 labels blank nodes exactly as pyoxigraph (the reference) does, in C and in Python,
and the C gives the Python's bytes on any dataset."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchors import rdfc
from anchors.rdfc import (
    MAX_WORK,
    Quad,
    TooComplex,
    canonical_nquads_in_python,
    canonical_nquads_of_terms,
    canonical_nquads_utf8,
)

Canonicalizer = Callable[[list[Quad]], str]
BOTH = pytest.mark.parametrize(
    "canonical", [canonical_nquads_of_terms, canonical_nquads_in_python], ids=["native", "python"]
)


def reference(quads: list[Quad]) -> str:
    text = "".join(f"{s} {p} {o} .\n" for s, p, o in quads)
    dataset = pyoxigraph.Dataset(pyoxigraph.parse(text, format=pyoxigraph.RdfFormat.N_QUADS))
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    out = pyoxigraph.serialize(dataset, format=pyoxigraph.RdfFormat.N_QUADS)
    assert out is not None
    return "".join(line + "\n" for line in sorted(out.decode().split("\n")) if line)


BLANKS = st.sampled_from([f"_:n{i}" for i in range(8)])
SUBJECTS = st.one_of(BLANKS, st.just("<urn:x:s>"))
OBJECTS = st.one_of(BLANKS, st.sampled_from(["<urn:x:o>", '"a"', '"b"@en', '"1"^^<urn:x:t>']))
PREDICATES = st.sampled_from(["<urn:x:p>", "<urn:x:q>"])
SMALL_DATASETS = st.lists(st.tuples(SUBJECTS, PREDICATES, OBJECTS), min_size=1, max_size=16)


def test_the_c_labelling_is_built_where_the_tests_run() -> None:
    assert rdfc.NATIVE, "anchors/rdfc_native.c was not built (a C compiler, OpenSSL's headers)"


@BOTH
@settings(max_examples=300, deadline=None)
@given(quads=SMALL_DATASETS)
def test_any_small_dataset_gets_the_reference_bytes(
    canonical: Canonicalizer, quads: list[Quad]
) -> None:
    assert canonical(quads) == reference(quads)


# Text beyond ASCII (sorted by code point in Python, by UTF-8 byte in C: the same order),
# long terms, many blank nodes alike and unlike.
LITERALS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\\n\r'),
    max_size=12,
).map(lambda text: f'"{text}"')
MANY_BLANKS = st.integers(min_value=0, max_value=30).map(lambda i: f"_:x{i}")
WIDE_DATASETS = st.lists(
    st.tuples(
        st.one_of(MANY_BLANKS, st.just("<urn:x:é>")),
        st.sampled_from(["<urn:x:p>", "<urn:x:q>", "<urn:x:ä>"]),
        st.one_of(MANY_BLANKS, LITERALS, st.just("<urn:x:o>")),
    ),
    min_size=1,
    max_size=60,
)


@st.composite
def stars(draw: st.DrawFn) -> list[Quad]:
    """Centres whose leaves look alike at first and differ further out (or not at all): the
    N-degree hashing's permutations and ties, with blank nodes named in a random order."""
    quads: list[Quad] = []
    names = draw(st.permutations(range(64)))
    fresh = iter(f"_:s{n}" for n in names)
    for _ in range(draw(st.integers(1, 3))):
        centre = next(fresh)
        for _ in range(draw(st.integers(2, 4))):
            node = next(fresh)
            quads.append((centre, "<urn:x:leaf>", node))
            for _ in range(draw(st.integers(0, 2))):
                further = next(fresh)
                quads.append((node, "<urn:x:next>", further))
                node = further
            quads.append((node, "<urn:x:tag>", draw(st.sampled_from(['"a"', '"b"']))))
    return draw(st.permutations(quads))


@settings(max_examples=1500, deadline=None)
@given(quads=st.one_of(SMALL_DATASETS, WIDE_DATASETS, stars()))
def test_the_c_labelling_gives_the_pythons_bytes(quads: list[Quad]) -> None:
    try:
        expected: bytes | type[TooComplex] = canonical_nquads_in_python(quads).encode()
    except TooComplex:
        expected = TooComplex
    try:
        got: bytes | type[TooComplex] = canonical_nquads_utf8(quads)
    except TooComplex:
        got = TooComplex
    assert got == expected


def ring(name: str, size: int) -> list[Quad]:
    return [(f"_:{name}{i}", "<urn:x:next>", f"_:{name}{(i + 1) % size}") for i in range(size)]


@BOTH
@pytest.mark.parametrize("size", [2, 3, 5, 8])
def test_rings_of_alike_blank_nodes_get_the_reference_bytes(
    canonical: Canonicalizer, size: int
) -> None:
    two_rings = ring("r", size) + ring("s", size)
    assert canonical(two_rings) == reference(two_rings)


@BOTH
def test_a_quad_given_twice_counts_once(canonical: Canonicalizer) -> None:
    quads = [("_:a", "<urn:x:p>", '"v"'), ("_:a", "<urn:x:p>", '"v"')]
    assert canonical(quads) == '_:c14n0 <urn:x:p> "v" .\n'


@BOTH
def test_a_dataset_made_to_be_symmetric_is_refused_rather_than_labelled_for_ever(
    canonical: Canonicalizer,
) -> None:
    nodes = range(9)
    clique = [(f"_:c{i}", "<urn:x:p>", f"_:c{j}") for i in nodes for j in nodes if i != j]
    with pytest.raises(TooComplex, match=str(MAX_WORK)):
        canonical(clique)


def test_text_that_is_not_unicode_scalar_values_cannot_be_written_as_utf8() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical_nquads_utf8([("_:a", "<urn:x:p>", '"\ud800"')])


@pytest.mark.skipif(not rdfc.NATIVE, reason="the C labelling was not built")
@pytest.mark.parametrize("term", ["", "_x", "_"])
def test_the_c_labelling_refuses_a_term_not_in_canonical_form(term: str) -> None:
    with pytest.raises(ValueError, match="canonical N-Quads form"):
        canonical_nquads_utf8([(term, "<urn:x:p>", '"v"')])
