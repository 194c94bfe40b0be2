"""RDFC-1.0 in Python labels blank nodes exactly as pyoxigraph (the reference) does."""

from __future__ import annotations

import pyoxigraph
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchors.rdfc import MAX_WORK, Quad, TooComplex, canonical_nquads_of_terms


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


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(SUBJECTS, PREDICATES, OBJECTS), min_size=1, max_size=16))
def test_any_small_dataset_gets_the_reference_bytes(quads: list[Quad]) -> None:
    assert canonical_nquads_of_terms(quads) == reference(quads)


def ring(name: str, size: int) -> list[Quad]:
    return [(f"_:{name}{i}", "<urn:x:next>", f"_:{name}{(i + 1) % size}") for i in range(size)]


@pytest.mark.parametrize("size", [2, 3, 5, 8])
def test_rings_of_alike_blank_nodes_get_the_reference_bytes(size: int) -> None:
    two_rings = ring("r", size) + ring("s", size)
    assert canonical_nquads_of_terms(two_rings) == reference(two_rings)


def test_a_quad_given_twice_counts_once() -> None:
    quads = [("_:a", "<urn:x:p>", '"v"'), ("_:a", "<urn:x:p>", '"v"')]
    assert canonical_nquads_of_terms(quads) == '_:c14n0 <urn:x:p> "v" .\n'


def test_a_dataset_made_to_be_symmetric_is_refused_rather_than_labelled_for_ever() -> None:
    nodes = range(9)
    clique = [(f"_:c{i}", "<urn:x:p>", f"_:c{j}") for i in nodes for j in nodes if i != j]
    with pytest.raises(TooComplex, match=str(MAX_WORK)):
        canonical_nquads_of_terms(clique)
