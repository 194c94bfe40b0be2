"""The hash of the ledger's own documents without a JSON-LD processor.

Hashing a document (RDFC-1.0 over its N-Quads) through JSON-LD spends most of its time turning
JSON-LD into quads (inlining and pruning the contexts, expanding every term) and then parsing
and serialising N-Quads around the canonicalization. A document the ledger builds has one fixed
``@context`` and a fixed set of terms, each with one meaning, so its quads are written straight
from its JSON as terms in canonical N-Quads form and labelled by :mod:`anchors.rdfc`.

The same writer is in C (``anchors/rdfc_tree.c``, with the labelling of ``anchors/rdfc_native.c``)
for the plain case; this module's Python writes everything the C hands back (any edge of the
shape) and is its oracle.

Anything outside that shape (another context, a term or keyword not in the table, a value of
another kind, an IRI that is not plainly absolute, text that is not Unicode scalar values) goes
to the general path in :mod:`anchors.jsonld` (pyoxigraph), which stays the reference: property
tests over randomised content prove both paths give the same bytes, and the Blockcerts verifier
checks the hashes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pyoxigraph

from anchors.jsonld import canonical_nquads
from anchors.rdfc import MAX_WORK, Quad, TooComplex, canonical_nquads_utf8, native_tree
from ledger.formats.blockcerts.document import CONTEXT, ELM_CONTEXT

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_VC = "https://www.w3.org/2018/credentials#"
_NODE = "@id"  # a term whose string values are IRIs
_PLAIN = ""  # a term without type coercion


def _expanded(value: str) -> str:
    prefix, _, rest = value.partition(":")
    expansion = ELM_CONTEXT.get(prefix)
    return expansion + rest if isinstance(expansion, str) and rest else value


# The credential's own terms and types, allowed on the document's top node only: VC 2.0 gives
# its credential types contexts of their own, which a nested node must not silently take on.
_CREDENTIAL_PROPERTIES = {
    "issuer": (_VC + "issuer", _NODE),
    "credentialSubject": (_VC + "credentialSubject", _NODE),
    "validFrom": (_VC + "validFrom", _XSD + "dateTime"),
    "validUntil": (_VC + "validUntil", _XSD + "dateTime"),
}
_CREDENTIAL_CLASSES = {
    "VerifiableCredential": _VC + "VerifiableCredential",
    "BlockcertsCredential": "https://w3id.org/blockcerts#BlockcertsCredential",
}


def _tables() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """(term → predicate IRI and coercion, type name → class IRI) of the fixed context on any
    node: every term of the inline ELM context, and VC 2.0's ``name``."""
    properties = {"name": ("https://schema.org/name", _PLAIN)}
    classes = {}
    for term, definition in ELM_CONTEXT.items():
        if isinstance(definition, dict):
            coercion = definition.get("@type", _PLAIN)
            coercion = coercion if coercion == _NODE else _expanded(coercion)
            properties[term] = (_expanded(definition["@id"]), coercion)
        elif term[:1].isupper():
            classes[term] = _expanded(definition)
    return properties, classes


def _predicates(table: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {term: (f"<{iri}>", coercion) for term, (iri, coercion) in table.items()}


def _classes(table: dict[str, str]) -> dict[str, str]:
    return {name: f"<{iri}>" for name, iri in table.items()}


_PROPERTIES, _CLASSES = _tables()
# The predicate and class terms, ready made (every document writes some ninety quads); the top
# node also takes the credential's own.
_PREDICATES = _predicates(_PROPERTIES)
_TYPES = _classes(_CLASSES)
_TOP_PREDICATES = _predicates({**_PROPERTIES, **_CREDENTIAL_PROPERTIES})
_TOP_TYPES = _classes({**_CLASSES, **_CREDENTIAL_CLASSES})
_RDF_TYPE_TERM = f"<{_RDF_TYPE}>"
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|^`\\]*$")
# Canonical N-Quads (RDF 1.2): ECHAR for quote, backslash, LF, CR, BS, TAB and FF; UCHAR for
# the other C0 controls, DEL and the two noncharacters U+FFFE and U+FFFF; the rest as is.
_ESCAPES = str.maketrans(
    {
        **{chr(c): f"\\u{c:04X}" for c in [*range(0x20), 0x7F, 0xFFFE, 0xFFFF]},
        "\\": "\\\\",
        '"': '\\"',
        "\n": "\\n",
        "\r": "\\r",
        "\b": "\\b",
        "\t": "\\t",
        "\f": "\\f",
    }
)
# Text with none of those is written as it is (most text: faster than translating it).
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f\ufffe\uffff\\"]')
_INTEGER = "<" + _XSD + "integer>"


_NATIVE = native_tree()


class _NotOurShape(Exception):
    """The document is not one the quad writer knows: the general path hashes it."""


@lru_cache(maxsize=1024)
def _double(value: float) -> str:
    """A JSON number with a fraction as JSON-LD writes it (canonical xsd:double), asked of the
    same JSON-LD processor the general path uses, once per value."""
    text = json.dumps({"@context": {"@vocab": "urn:x:"}, "v": value})
    (quad,) = pyoxigraph.parse(text, format=pyoxigraph.RdfFormat.JSON_LD)
    return str(quad.object)


class _Writer:
    """Writes a node tree as quads of canonical N-Quads terms, blank nodes numbered in order
    of appearance."""

    def __init__(self) -> None:
        self.quads: list[Quad] = []
        self._blank = 0

    def node(self, node: Mapping[str, Any], top: bool = False) -> str:
        identifier = node.get("id")
        if identifier is None:
            subject = f"_:b{self._blank}"
            self._blank += 1
        else:
            subject = self._iri(identifier)
        quads = self.quads
        predicates, types = (_TOP_PREDICATES, _TOP_TYPES) if top else (_PREDICATES, _TYPES)
        for key, value in node.items():
            if key == "id":
                continue
            if key == "type":
                for name in value if isinstance(value, list) else [value]:
                    if not isinstance(name, str) or name not in types:
                        raise _NotOurShape
                    quads.append((subject, _RDF_TYPE_TERM, types[name]))
                continue
            found = predicates.get(key)
            if found is None:
                raise _NotOurShape
            predicate, coercion = found
            if type(value) is list:
                for item in value:
                    quads.append((subject, predicate, self._object(item, coercion)))
            else:
                quads.append((subject, predicate, self._object(value, coercion)))
        return subject

    def _object(self, value: Any, coercion: str) -> str:
        if type(value) is str:  # most values: text, or an IRI
            if coercion == _NODE:
                return self._iri(value)
            if _NEEDS_ESCAPE.search(value) is not None:
                value = value.translate(_ESCAPES)
            return f'"{value}"' if coercion == _PLAIN else f'"{value}"^^<{coercion}>'
        if isinstance(value, dict):
            return self.node(value)
        if isinstance(value, str):
            if coercion == _NODE:
                return self._iri(value)
            literal = '"' + value.translate(_ESCAPES) + '"'
            return literal if coercion == _PLAIN else f"{literal}^^<{coercion}>"
        if isinstance(value, bool) or value is None or isinstance(value, list):
            raise _NotOurShape
        if isinstance(value, int) and coercion in (_PLAIN, _XSD + "integer"):
            if abs(value) >= 10**21:  # JSON-LD writes these as doubles
                raise _NotOurShape
            return f'"{value}"^^{_INTEGER}'
        if isinstance(value, float) and coercion == _PLAIN and value == value:
            if value.is_integer() or abs(value) >= 10**21:
                raise _NotOurShape  # an integral float: JSON-LD and Python disagree on it
            return _double(value)
        raise _NotOurShape

    @staticmethod
    def _iri(value: Any) -> str:
        if not isinstance(value, str) or not _ABSOLUTE_IRI.match(value):
            raise _NotOurShape
        return f"<{value}>"


def ledger_quads(document: Mapping[str, Any]) -> list[Quad] | None:
    """The quads of a document of the ledger's shape (its ``proof`` left out) as canonical
    N-Quads terms, blank nodes not yet canonically labelled; None if ``document`` has another
    shape."""
    if document.get("@context") != CONTEXT:
        return None
    writer = _Writer()
    try:
        writer.node({k: v for k, v in document.items() if k not in ("@context", "proof")}, top=True)
    except _NotOurShape:
        return None
    return writer.quads


def _direct_nquads(document: Mapping[str, Any]) -> bytes | None:
    if _NATIVE is not None and document.get("@context") == CONTEXT:
        written = _NATIVE(document, _TOP_PREDICATES, _TOP_TYPES, _PREDICATES, _TYPES, MAX_WORK)
        if written is not None:
            return written
    return _python_nquads(document)


def _python_nquads(document: Mapping[str, Any]) -> bytes | None:
    """:func:`_direct_nquads` by the Python writer: the C's oracle."""
    quads = ledger_quads(document)
    if quads is None:
        return None
    try:
        return canonical_nquads_utf8(quads)
    except (TooComplex, UnicodeEncodeError):  # a lone surrogate: the general path's error
        return None


def ledger_nquads(document: Mapping[str, Any]) -> str | None:
    """The canonical N-Quads of a document of the ledger's shape (its ``proof`` left out), or
    None if ``document`` has another shape (or blank nodes too alike to label directly)."""
    nquads = _direct_nquads(document)
    return None if nquads is None else nquads.decode("utf-8")


def ledger_nquads_in_python(document: Mapping[str, Any]) -> str | None:
    """:func:`ledger_nquads` by the Python writer alone: the oracle of the C writer."""
    nquads = _python_nquads(document)
    return None if nquads is None else nquads.decode("utf-8")


def document_hash(document: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical N-Quads of ``document`` without its ``proof``: the Blockcerts
    document hash, written directly for the ledger's own documents."""
    nquads = _direct_nquads(document)
    if nquads is None:
        unproved = {k: v for k, v in document.items() if k != "proof"}
        nquads = canonical_nquads(unproved).encode("utf-8")
    return hashlib.sha256(nquads).digest()


def document_leaf(document: Mapping[str, Any]) -> str:
    """The anchor-tree leaf of a document (hex): SHA-256 of its canonical N-Quads, proof
    left out; what a recognition names a component's document by."""
    return document_hash(document).hex()
