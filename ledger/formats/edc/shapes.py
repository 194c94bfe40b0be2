"""Conformance to the EDC shapes: the credential as RDF, validated with pySHACL.

The credential is expanded to RDF with the two contexts kept in ``contexts/`` (never fetched)
and validated against the generic-full shapes together with the profile they import.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pyshacl
import rdflib
from pyld import jsonld
from rdflib.exceptions import ParserError

from ledger.formats.edc.credential import EDC_AP, VC_V1

_CONTEXTS = {VC_V1: "credentials-v1.jsonld", EDC_AP: "edc-ap.jsonld"}
_SHAPES = ("EDC-generic-full.ttl", "EDC-generic-no-cv.ttl")
_SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
_PACKAGE = resources.files("ledger.formats.edc")


class UnknownContext(ValueError):
    """The credential names a context that is not kept here: it is not an EDC credential."""


class NotJsonLd(ValueError):
    """The credential cannot be expanded to RDF with the EDC contexts."""


@dataclass(frozen=True)
class Violation:
    """One broken constraint: the node, the property path and the shapes' message."""

    focus: str
    path: str
    message: str


@cache
def _context(url: str) -> dict[str, Any]:
    name = _CONTEXTS.get(url)
    if name is None:
        raise UnknownContext(f"the context {url} is not an EDC context known here")
    text = (_PACKAGE / "contexts" / name).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"contextUrl": None, "documentUrl": url, "document": _context(url)}


@cache
def _shapes() -> rdflib.Graph:
    graph = rdflib.Graph()
    for name in _SHAPES:
        text = (_PACKAGE / "shapes" / name).read_text("utf-8")
        graph.parse(data=text, format="turtle")
    return graph


def as_rdf(credential: dict[str, Any]) -> rdflib.Graph:
    """The credential's RDF graph, expanded with the local contexts."""
    try:
        nquads = jsonld.to_rdf(
            credential, {"format": "application/n-quads", "documentLoader": _loader}
        )
    except jsonld.JsonLdError as exc:
        raise NotJsonLd(f"not JSON-LD with the EDC contexts ({exc.type})") from None
    graph = rdflib.Graph()
    with warnings.catch_warnings():
        # rdflib's N-Quads parser uses its own deprecated default-context API.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            graph.parse(data=nquads, format="nquads")
        except ParserError:
            # pyld writes some values of hostile input as N-Quads no parser reads.
            raise NotJsonLd("its RDF cannot be read back (malformed values)") from None
    return graph


def violations(credential: dict[str, Any]) -> list[Violation]:
    """Every violation of the EDC generic-full shapes (none: the credential conforms)."""
    conforms, report, _ = pyshacl.validate(
        as_rdf(credential), shacl_graph=_shapes(), advanced=True, allow_warnings=True
    )
    if conforms:
        return []
    found = []
    for result in report.subjects(rdflib.RDF.type, _SH.ValidationResult):
        if report.value(result, _SH.resultSeverity) != _SH.Violation:
            continue
        found.append(
            Violation(
                focus=str(report.value(result, _SH.focusNode)),
                path=str(report.value(result, _SH.resultPath)),
                message=str(report.value(result, _SH.resultMessage)),
            )
        )
    return sorted(found, key=lambda v: (v.focus, v.path, v.message))
