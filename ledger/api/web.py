"""The public pages: the verifier at ``/``, issuer profiles, the ledger overview.

Static files only (HTML, CSS and plain JavaScript shipped in the package): nothing is fetched
from elsewhere at run time and nothing is built. The pages call the same public API as anyone.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from ledger import codelists

router = APIRouter(include_in_schema=False)

_STATIC = resources.files("ledger") / "web" / "static"
# The pages load their own scripts and styles only, and talk only to this API.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_LISTS = (
    "accreditation-types",
    "assessment-types",
    "countries",
    "credit-points",
    "eqf",
    "isced-f",
    "languages",
    "learning-settings",
    "modes",
    "nqf",
)


def _page(name: str) -> HTMLResponse:
    return HTMLResponse((_STATIC / name).read_text("utf-8"), headers=_HEADERS)


@router.get("/")
def verifier_page() -> HTMLResponse:
    return _page("index.html")


@router.get("/issuer")
def issuer_page() -> HTMLResponse:
    return _page("issuer.html")


@router.get("/overview")
def overview_page() -> HTMLResponse:
    return _page("overview.html")


@cache
def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for name in _LISTS:
        labels.update(codelists.load(name).labels)
    return labels


@router.get("/codelists/labels", include_in_schema=True, tags=["service"])
def labels(response: Response) -> dict[str, Any]:
    """Every EU code-list URI the ledger knows, with its English label (for display)."""
    response.headers["Cache-Control"] = "public, max-age=86400"
    return _labels()


def install(app: FastAPI) -> None:
    """Serve the pages and their static files."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(_STATIC)), name="static")
