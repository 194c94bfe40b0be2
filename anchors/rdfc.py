"""RDFC-1.0 (W3C, 2024) for a small dataset that code wrote itself, in Python.

pyoxigraph canonicalizes any dataset, but for the ledger's own documents most of its time goes
to parsing N-Quads text back into terms and serialising them again. Here the quads come as
terms already in canonical N-Quads form, in the default graph, and the algorithm labels their
blank nodes as the recommendation's sections 4.4 to 4.8 do: first-degree hashes, canonical
labels for the unique ones, N-degree hashes for the rest.

The same steps are written in C (``anchors/rdfc_native.c``, built with the package where a C
compiler and OpenSSL's headers are found): a document's labelling there takes a third of the
time it takes here. The Python below is the oracle the C is tested against, byte for byte, and
the fallback where the C was not built.

A dataset whose N-degree hashing would take more than :data:`MAX_WORK` steps (a graph made to
be symmetric) raises :class:`TooComplex`; the caller hands it to the general path. pyoxigraph
stays the reference: property tests compare the bytes of both.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable

Term = str
"""An N-Quads term as canonical N-Quads writes it: ``<iri>``, ``_:label`` or a literal."""
Quad = tuple[Term, Term, Term]
"""Subject, predicate, object; the graph is the default graph."""

MAX_WORK = 10_000
"""Permutations and N-degree hashings one dataset may take."""


def _native() -> Callable[[list[Quad], int], bytes | None] | None:
    try:
        from anchors.rdfc_native import canonical_nquads
    except ImportError:  # not built here: the Python below does the same
        return None
    return canonical_nquads


_NATIVE = _native()


def native_tree() -> Callable[..., bytes | None] | None:
    """The C writer of JSON node trees (``anchors/rdfc_tree.c``: see
    ``rdfc_native.canonical_tree``), or None where the C was not built."""
    try:
        from anchors.rdfc_native import canonical_tree
    except ImportError:
        return None
    return canonical_tree


NATIVE = _NATIVE is not None
"""Whether the C labelling was built and is used."""


class TooComplex(Exception):
    """The dataset's blank nodes would take more than :data:`MAX_WORK` steps to label."""


class _Issuer:
    """An identifier issuer (section 4.5): labels in the order their nodes were first seen."""

    __slots__ = ("issued", "prefix")

    def __init__(self, prefix: str, issued: dict[Term, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[Term, str] = {} if issued is None else issued

    def issue(self, node: Term) -> str:
        label = self.issued.get(node)
        if label is None:
            label = self.issued[node] = f"_:{self.prefix}{len(self.issued)}"
        return label

    def copy(self) -> _Issuer:
        return _Issuer(self.prefix, dict(self.issued))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _first_degree(lines: list[str]) -> str:
    """Section 4.6: the hash of a blank node's quads as it sees them, in code point order."""
    lines.sort()
    return _sha256("".join(lines))


class _Canonicalization:
    def __init__(self, quads: list[Quad]) -> None:
        self.mentions: dict[Term, list[Quad]] = {}
        # Section 4.6 for every blank node at once: each quad's line as each blank node in it
        # sees it (itself as _:a, any other as _:z), written once, as the quad is read.
        lines: dict[Term, list[str]] = {}
        mentions = self.mentions
        for quad in quads:
            subject, predicate, obj = quad
            if subject[0] == "_":
                if obj[0] != "_":
                    line = f"_:a {predicate} {obj} .\n"
                elif obj == subject:
                    line = f"_:a {predicate} _:a .\n"
                else:
                    line = f"_:a {predicate} _:z .\n"
                    lines.setdefault(obj, []).append(f"_:z {predicate} _:a .\n")
                    mentions.setdefault(obj, []).append(quad)
                lines.setdefault(subject, []).append(line)
                mentions.setdefault(subject, []).append(quad)
            elif obj[0] == "_":
                lines.setdefault(obj, []).append(f"{subject} {predicate} _:a .\n")
                mentions.setdefault(obj, []).append(quad)
        self.first_degree = {node: _first_degree(seen) for node, seen in lines.items()}
        self.canonical = _Issuer("c14n")
        self.work = 0

    def label(self) -> dict[Term, str]:
        """Section 4.4.3, steps 3 to 5: every blank node's canonical label."""
        by_hash: dict[str, list[Term]] = {}
        for node, digest in self.first_degree.items():
            by_hash.setdefault(digest, []).append(node)
        shared = []
        for digest in sorted(by_hash):
            nodes = by_hash[digest]
            if len(nodes) == 1:
                self.canonical.issue(nodes[0])
            else:
                shared.append(nodes)
        for nodes in shared:
            results = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                issuer = _Issuer("b")
                issuer.issue(node)
                results.append(self._n_degree(node, issuer))
            for _, issuer in sorted(results, key=lambda result: result[0]):
                for node in issuer.issued:
                    self.canonical.issue(node)
        return self.canonical.issued

    def _related(self, related: Term, predicate: Term, issuer: _Issuer, position: str) -> str:
        """Section 4.7: the hash of a blank node as seen from a quad of another."""
        identifier = self.canonical.issued.get(related) or issuer.issued.get(related)
        if identifier is None:
            identifier = self.first_degree[related]
        return _sha256(position + predicate + identifier)

    def _n_degree(self, node: Term, issuer: _Issuer) -> tuple[str, _Issuer]:
        """Section 4.8: the hash of a node through the paths to its related blank nodes."""
        self.work += 1
        if self.work > MAX_WORK:
            raise TooComplex(f"more than {MAX_WORK} steps to label the blank nodes")
        related: dict[str, list[Term]] = {}
        for subject, predicate, obj in self.mentions[node]:
            if subject[:2] == "_:" and subject != node:
                related.setdefault(self._related(subject, predicate, issuer, "s"), []).append(
                    subject
                )
            if obj[:2] == "_:" and obj != node:
                related.setdefault(self._related(obj, predicate, issuer, "o"), []).append(obj)
        data = []
        for digest in sorted(related):
            data.append(digest)
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in itertools.permutations(related[digest]):
                self.work += 1
                if self.work > MAX_WORK:
                    raise TooComplex(f"more than {MAX_WORK} steps to label the blank nodes")
                path = self._path(permutation, issuer.copy(), chosen_path)
                if path is not None and (not chosen_path or path[0] < chosen_path):
                    chosen_path, chosen_issuer = path
            data.append(chosen_path)
            assert chosen_issuer is not None  # the first permutation is always chosen
            issuer = chosen_issuer
        return _sha256("".join(data)), issuer

    def _path(
        self, permutation: tuple[Term, ...], issuer: _Issuer, chosen: str
    ) -> tuple[str, _Issuer] | None:
        """Section 4.8.3, steps 5.4.1 to 5.4.5: one permutation's path, or None as soon as it
        cannot be less than ``chosen``."""
        path = ""
        recursion = []
        for related in permutation:
            label = self.canonical.issued.get(related)
            if label is None:
                if related not in issuer.issued:
                    recursion.append(related)
                label = issuer.issue(related)
            path += label
            if chosen and len(path) >= len(chosen) and path > chosen:
                return None
        for related in recursion:
            digest, result_issuer = self._n_degree(related, issuer)
            path += issuer.issue(related) + "<" + digest + ">"
            issuer = result_issuer
            if chosen and len(path) >= len(chosen) and path > chosen:
                return None
        return path, issuer


def canonical_nquads_in_python(quads: Iterable[Quad]) -> str:
    """:func:`canonical_nquads_of_terms` in Python only: the oracle of the C code."""
    dataset = list(dict.fromkeys(quads))
    labels = _Canonicalization(dataset).label()
    lines = [
        f"{labels.get(subject, subject)} {predicate} {labels.get(obj, obj)} .\n"
        for subject, predicate, obj in dataset
    ]
    lines.sort()
    return "".join(lines)


def canonical_nquads_utf8(quads: Iterable[Quad]) -> bytes:
    """:func:`canonical_nquads_of_terms` encoded in UTF-8 (what is hashed), by the C code
    where it was built.

    Raises :class:`TooComplex` as the Python does, and ``UnicodeEncodeError`` for a term that
    is not Unicode scalar values (a lone surrogate).
    """
    if _NATIVE is None:
        return canonical_nquads_in_python(quads).encode("utf-8")
    text = _NATIVE(list(dict.fromkeys(quads)), MAX_WORK)
    if text is None:
        raise TooComplex(f"more than {MAX_WORK} steps to label the blank nodes")
    return text


def canonical_nquads_of_terms(quads: Iterable[Quad]) -> str:
    """The canonical N-Quads of a dataset (sorted lines, blank nodes labelled ``_:c14nN``).

    Every term must already be in canonical N-Quads form; duplicate quads count once.
    """
    return canonical_nquads_utf8(quads).decode("utf-8")
