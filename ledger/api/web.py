"""The public pages: the verifier at ``/``, issuer profiles, the ledger overview.

Static files only (HTML, CSS and plain JavaScript shipped in the package): nothing is fetched
from elsewhere at run time and nothing is built. The pages call the same public API as anyone.
The API documentation at ``/docs`` is Swagger UI served from its Python package, under the
same Content-Security-Policy: no visitor's browser calls a third party.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, FastAPI, Query, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from ledger.domain import codelists

router = APIRouter(include_in_schema=False)

_STATIC = resources.files("ledger") / "web" / "static"
_SWAGGER_UI = resources.files("swagger_ui") / "static"
# The pages load their own scripts and styles only, and talk only to this API.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CodeListName = Literal[
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
]
_LISTS: tuple[CodeListName, ...] = get_args(CodeListName)  # as errors and ?list= name them


def _page(name: str) -> HTMLResponse:
    return HTMLResponse((_STATIC / name).read_text("utf-8"), headers=_HEADERS)


# HEAD answers like GET on every page, as HTTP requires of a GET resource.
@router.api_route("/", methods=["GET", "HEAD"])
def verifier_page() -> HTMLResponse:
    return _page("index.html")


@router.api_route("/issuer", methods=["GET", "HEAD"])
def issuer_page() -> HTMLResponse:
    return _page("issuer.html")


@router.api_route("/overview", methods=["GET", "HEAD"])
def overview_page() -> HTMLResponse:
    return _page("overview.html")


@router.api_route("/stack", methods=["GET", "HEAD"])
def stack_page() -> HTMLResponse:
    return _page("stack.html")


@router.api_route("/docs", methods=["GET", "HEAD"])
def api_documentation() -> HTMLResponse:
    return _page("docs.html")


@cache
def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for name in _LISTS:
        labels.update(codelists.load(name).labels)
    return labels


@router.get("/codelists/labels", include_in_schema=True, tags=["service"])
def labels(
    response: Response,
    list_name: Annotated[
        CodeListName | None, Query(alias="list", description="One code list only")
    ] = None,
) -> dict[str, Any]:
    """Every EU code-list URI the ledger knows (or those of one list), with its English label."""
    response.headers["Cache-Control"] = "public, max-age=86400"
    if list_name is not None:
        return dict(codelists.load(list_name).labels)
    return _labels()


def install(app: FastAPI) -> None:
    """Serve the pages and their static files."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(_STATIC)), name="static")
    app.mount("/docs/assets", StaticFiles(directory=str(_SWAGGER_UI)), name="docs-assets")
