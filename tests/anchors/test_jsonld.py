"""The document hash: URDNA2015 through pyoxigraph, byte-identical to pyld (cert-issuer's)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from pyld import jsonld

from anchors.jsonld import (
    BLOCKCERTS_V3_2,
    VC_V2,
    CanonicalizationError,
    canonical_nquads,
    document_hash,
    known_contexts,
)

_TERMS = {
    "ex": "urn:example:",
    "title": {"@id": "ex:title", "@container": "@language"},
    "note": "ex:note",
    "born": {"@id": "ex:born", "@type": "http://www.w3.org/2001/XMLSchema#date"},
    "credits": "ex:credits",
    "ratio": "ex:ratio",
    "passed": "ex:passed",
    "part": "ex:part",
    "Thing": "ex:Thing",
}


def _pyld_hash(document: dict[str, Any]) -> str:
    contexts = known_contexts()

    def loader(url: str, options: Any = None) -> dict[str, Any]:
        return {"contextUrl": None, "documentUrl": url, "document": contexts[url]}

    unproved = {k: v for k, v in document.items() if k != "proof"}
    normalized = jsonld.normalize(
        unproved,
        {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader},
    )
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def _credential(subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [VC_V2, BLOCKCERTS_V3_2, _TERMS],
        "id": "urn:uuid:8c1f2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        "type": ["VerifiableCredential", "BlockcertsCredential"],
        "issuer": "https://ledger.example/issuers/1/profile",
        "validFrom": "2026-11-28T10:00:00+01:00",
        "credentialSubject": subject,
    }


VARIED = {
    "non-ascii text": {"note": "Zoë Ångström, Łódź, 李小龙, Ἀθῆναι, emoji 🎓"},
    "language map": {"title": {"en": "Data science", "ga": "Eolaíocht sonraí", "fr": "Données"}},
    "typed date": {"born": "2001-02-03"},
    "numbers and booleans": {"credits": 5, "ratio": 2.5, "passed": True},
    "blank nodes": {
        "part": [
            {"type": "Thing", "note": "first"},
            {"type": "Thing", "note": "second", "part": {"type": "Thing", "note": "inner"}},
        ]
    },
    "escapes": {"note": 'quote " backslash \\ newline \n tab \t'},
}


@pytest.mark.parametrize("subject", VARIED.values(), ids=VARIED.keys())
def test_the_hash_equals_pylds_urdna2015_hash(subject: dict[str, Any]) -> None:
    document = _credential(subject)
    assert document_hash(document).hex() == _pyld_hash(document)


def test_the_proof_is_not_hashed() -> None:
    document = _credential({"note": "x"})
    assert document_hash({**document, "proof": {"type": "DataIntegrityProof"}}) == (
        document_hash(document)
    )


def test_changing_any_value_changes_the_hash() -> None:
    document = _credential({"note": "x"})
    assert document_hash(_credential({"note": "y"})) != document_hash(document)


def test_an_unmapped_term_is_refused_with_its_name() -> None:
    with pytest.raises(CanonicalizationError, match="nickname"):
        document_hash(_credential({"nickname": "Zo"}))


def test_an_unknown_context_url_is_never_fetched() -> None:
    document = _credential({"note": "x"})
    document["@context"] = [VC_V2, "https://example.org/unknown-context"]
    with pytest.raises(CanonicalizationError, match="not known offline"):
        canonical_nquads(document)


def test_redefining_a_protected_vc_term_is_refused() -> None:
    document = _credential({"note": "x"})
    document["@context"] = [VC_V2, {"name": "urn:example:name"}]
    with pytest.raises(CanonicalizationError):
        canonical_nquads(document)
