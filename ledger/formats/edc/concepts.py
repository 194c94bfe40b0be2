"""Code-list values as ELM concepts: a ``skos:Concept`` in its scheme, with its English label.

The ledger stores code-list URIs; an EDC credential carries each as a concept whose
``inScheme`` is the scheme the EDC shapes require (``…/<list>/25831c2`` for the EU's
``data.europa.eu/snb`` lists, the authority table for the Publications Office's).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ledger.domain import codelists

_SNB = "http://data.europa.eu/snb/"
_AUTHORITY = "http://publications.europa.eu/resource/authority/"
# The NQF levels live under the qualification-framework ("qdr") list.
_SNB_SCHEME_SUFFIX = "/25831c2"

# ISO 639-1 tags of the EU authority's language codes, for language-tagged text.
_LANGUAGE_TAGS = {
    "BUL": "bg",
    "CES": "cs",
    "DAN": "da",
    "DEU": "de",
    "ELL": "el",
    "ENG": "en",
    "EST": "et",
    "FIN": "fi",
    "FRA": "fr",
    "GLE": "ga",
    "HRV": "hr",
    "HUN": "hu",
    "ISL": "is",
    "ITA": "it",
    "LAV": "lv",
    "LIT": "lt",
    "MKD": "mk",
    "MLT": "mt",
    "NLD": "nl",
    "NOR": "no",
    "POL": "pl",
    "POR": "pt",
    "RON": "ro",
    "SLK": "sk",
    "SLV": "sl",
    "SPA": "es",
    "SRP": "sr",
    "SWE": "sv",
    "TUR": "tr",
}

# The lists each code-list URI prefix belongs to, for its label.
_LISTS = {
    f"{_AUTHORITY}country/": "countries",
    f"{_AUTHORITY}language/": "languages",
    f"{_SNB}eqf/": "eqf",
    f"{_SNB}qdr/": "nqf",
    f"{_SNB}isced-f/": "isced-f",
    f"{_SNB}education-credit/": "credit-points",
    f"{_SNB}learning-assessment/": "modes",
    f"{_SNB}learning-setting/": "learning-settings",
    f"{_SNB}accreditation/": "accreditation-types",
    f"{_SNB}assessment/": "assessment-types",
}


def scheme_of(uri: str) -> str:
    """The concept scheme a code-list URI belongs to."""
    if uri.startswith(_AUTHORITY):
        return uri.rsplit("/", 1)[0]
    if uri.startswith(_SNB):
        return uri.rsplit("/", 1)[0] + _SNB_SCHEME_SUFFIX
    raise ValueError(f"{uri} is not in a known EU code list")


def label_of(uri: str) -> str:
    """The English label of a code-list URI the ledger accepted."""
    for prefix, name in _LISTS.items():
        if uri.startswith(prefix):
            return codelists.load(name).label(uri)
    raise ValueError(f"{uri} is not in a known EU code list")


@lru_cache(maxsize=4096)
def concept(uri: str, label: str | None = None) -> dict[str, Any]:
    """The ELM concept of a code-list URI, with its scheme and English label.

    Cached, so one dict serves every credential that names the concept: never change it.
    """
    node: dict[str, Any] = {
        "id": uri,
        "type": "Concept",
        "inScheme": {"id": scheme_of(uri), "type": "ConceptScheme"},
        "prefLabel": {"en": label if label is not None else label_of(uri)},
    }
    if uri.startswith(_AUTHORITY):
        node["notation"] = uri[len(_AUTHORITY) :].split("/", 1)[0]
    return node


def language_tag(language_uri: str | None) -> str:
    """The BCP 47 tag of an EU authority language URI (English where none is given)."""
    if language_uri is None:
        return "en"
    code = language_uri.rsplit("/", 1)[-1]
    return _LANGUAGE_TAGS.get(code, code.lower())
