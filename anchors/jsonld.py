"""The Blockcerts document hash: SHA-256 of the URDNA2015 (RDFC-1.0) N-Quads of a JSON-LD document.

Canonicalization runs in pyoxigraph (native code; the same bytes as pyld's URDNA2015, about
three times faster). Contexts are never fetched: the VC 2.0 and Blockcerts contexts come from
the ``cert-schema`` package (the copies cert-issuer and the reference verifier use) and are
inlined before parsing. Like the reference verifier, a fallback ``@vocab`` catches every term
no context defines: a document with an unmapped term has no hash, because a verifier would
reject it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import pyoxigraph

VC_V2 = "https://www.w3.org/ns/credentials/v2"
BLOCKCERTS_V3_2 = "https://w3id.org/blockcerts/v3.2"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"

# What the reference verifier adds to find terms that no context maps.
FALLBACK_VOCAB = "http://fallback.org/"

_CONTEXT_FILES = {
    VC_V2: "3.2/credential_v2.json",
    BLOCKCERTS_V3_2: "3.2/context.json",
    "https://w3id.org/blockcerts/schema/3.2/context.json": "3.2/context.json",
    DATA_INTEGRITY_V2: "3.2/dataIntegrityProof.json",
}


class CanonicalizationError(ValueError):
    """The document cannot be canonicalized the way a Blockcerts verifier would."""


@cache
def context(url: str) -> Any:
    """The ``@context`` value of a known context URL (never fetched from the network)."""
    name = _CONTEXT_FILES.get(url)
    if name is None:
        raise CanonicalizationError(
            f"the context {url} is not known offline; known: {', '.join(sorted(_CONTEXT_FILES))}"
        )
    text = (resources.files("cert_schema") / name).read_text(encoding="utf-8")
    return json.loads(text)["@context"]


def known_contexts() -> dict[str, Any]:
    """Every context URL this module resolves, with its document (for serving or loaders)."""
    return {url: {"@context": context(url)} for url in _CONTEXT_FILES}


_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _pruned(definitions: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """``definitions`` without the terms ``names`` never mention.

    Expansion only ever looks up words the document uses, so an unused term cannot change the
    result; processing a known context costs far more than canonicalizing (most of the time
    went to the VC 2.0 context's type-scoped terms). Keywords, prefixes (IRIs ending in ``/``,
    ``#`` or ``:``) and nested scoped contexts are kept, the latter pruned the same way.
    """
    kept: dict[str, Any] = {}
    for term, definition in definitions.items():
        prefix = isinstance(definition, str) and definition.endswith(("/", "#", ":"))
        if not (term.startswith("@") or term in names or prefix):
            continue
        if isinstance(definition, dict) and isinstance(definition.get("@context"), dict):
            definition = {**definition, "@context": _pruned(definition["@context"], names)}
        kept[term] = definition
    return kept


@cache
def _terms(url: str) -> frozenset[str]:
    """Every term a known context defines, at any depth."""
    found: set[str] = set()

    def walk(definitions: dict[str, Any]) -> None:
        for term, definition in definitions.items():
            found.add(term)
            if isinstance(definition, dict) and isinstance(definition.get("@context"), dict):
                walk(definition["@context"])

    walk(context(url))
    return frozenset(found)


@cache
def _pruned_json(url: str, used: frozenset[str]) -> str:
    return json.dumps(_pruned(context(url), used), ensure_ascii=False)


@lru_cache(maxsize=256)
def _pruned_inline(text: str, used: frozenset[str]) -> str:
    return json.dumps(_pruned(json.loads(text), used), ensure_ascii=False)


def json_ld_text(document: Mapping[str, Any]) -> str:
    """The document as JSON-LD text with its known contexts inlined (pruned to the terms it
    uses) and the fallback vocabulary appended."""
    contexts = document.get("@context")
    if contexts is None:
        raise CanonicalizationError("the document has no @context")
    listed = contexts if isinstance(contexts, list) else [contexts]
    body = json.dumps({k: v for k, v in document.items() if k != "@context"}, ensure_ascii=False)
    names = set(_STRING.findall(body))
    # A term defined in two contexts stays in both: a forbidden redefinition of a protected
    # term must still fail.
    seen: set[str] = set()
    for given in listed:
        defined = _terms(given) if isinstance(given, str) else set(given)
        names.update(seen & defined)
        seen.update(defined)
    used = frozenset(names)
    parts = []
    for given in listed:
        if isinstance(given, str):
            parts.append(_pruned_json(given, _terms(given) & used))
        elif isinstance(given, dict):
            text = json.dumps(given, ensure_ascii=False, sort_keys=True)
            parts.append(_pruned_inline(text, frozenset(given) & used))
        else:
            parts.append(json.dumps(given, ensure_ascii=False))
    parts.append(json.dumps({"@vocab": FALLBACK_VOCAB}))
    separator = ", " if body != "{}" else ""
    return '{"@context": [' + ", ".join(parts) + "]" + separator + body[1:]


def canonical_nquads(document: Mapping[str, Any]) -> str:
    """The canonical N-Quads of ``document`` (its ``proof`` included if it has one)."""
    try:
        text = json_ld_text(document).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError(f"the text is not Unicode: {exc.reason}") from None
    try:
        quads = pyoxigraph.parse(text, format=pyoxigraph.RdfFormat.JSON_LD)
        dataset = pyoxigraph.Dataset(quads)
    except (SyntaxError, ValueError) as exc:
        raise CanonicalizationError(f"JSON-LD parsing failed: {exc}") from exc
    lines = _canonical_lines(dataset)
    if any(f"<{FALLBACK_VOCAB}" in line for line in lines):
        unmapped = sorted(
            {
                line.split(f"<{FALLBACK_VOCAB}", 1)[1].split(">", 1)[0]
                for line in lines
                if f"<{FALLBACK_VOCAB}" in line
            }
        )
        raise CanonicalizationError(f"unmapped fields (no context defines them): {unmapped}")
    return "".join(line + "\n" for line in lines)


def _canonical_lines(dataset: pyoxigraph.Dataset) -> list[str]:
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    text = pyoxigraph.serialize(dataset, format=pyoxigraph.RdfFormat.N_QUADS)
    assert text is not None
    return sorted(line for line in text.decode("utf-8").split("\n") if line)


def document_hash(document: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical N-Quads of ``document`` without its ``proof``."""
    unproved = {k: v for k, v in document.items() if k != "proof"}
    return hashlib.sha256(canonical_nquads(unproved).encode("utf-8")).digest()
