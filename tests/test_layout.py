"""The package layout: dependencies point one way, from the edges to the domain.

Each package may import only the packages its row below names (``docs/architecture.md`` draws
the same map). Imports are read from the source with ``ast``, including those inside functions.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import modules_loaded, store_independent

pytestmark = store_independent  # the source tree, not a store: the SQLite pass runs these

ROOT = Path(__file__).resolve().parent.parent
OURS = ("ledger", "consumers", "anchors")

_CORE = {
    "anchors",
    "ledger.domain",
    "ledger.settings",
    "ledger.persistence",
    "ledger.operations",
    "ledger.application",
}
ALLOWED: dict[str, set[str]] = {
    "anchors": set(),
    "ledger": {"anchors"},
    "ledger.domain": set(),
    "ledger.settings": {"ledger.domain"},
    "ledger.persistence": {"anchors", "ledger.domain", "ledger.settings"},
    # Metrics and log lines: counted where things happen, from the application outwards.
    "ledger.operations": {"anchors", "ledger.domain", "ledger.persistence"},
    "ledger.application": {
        "anchors",
        "ledger.domain",
        "ledger.settings",
        "ledger.persistence",
        "ledger.operations",
    },
    "ledger.verify": {"anchors", "ledger.domain", "ledger.settings", "ledger.persistence"},
    "ledger.formats": _CORE | {"ledger.verify"},
    # Counting components toward a pathway: pure, over the domain's rules.
    "ledger.stacking": {"ledger.domain"},
    "ledger.client": {"ledger.domain", "ledger.formats"},
    "ledger.audit": _CORE | {"ledger.verify", "ledger.client"},
    "consumers": _CORE | {"ledger.formats", "ledger.client"},
    "ledger.api": _CORE | {"ledger", "ledger.formats", "ledger.verify", "ledger.stacking"},
    "ledger.runtime": _CORE | {"consumers", "ledger.api"},
    "ledger.cli": _CORE
    | {
        "ledger",
        "consumers",
        "ledger.api",
        "ledger.audit",
        "ledger.client",
        "ledger.formats",
        "ledger.runtime",
        "ledger.stacking",
        "ledger.verify",
    },
}
EDGES = ("ledger.api", "ledger.cli", "ledger.web", "ledger.runtime")


def _unit(module: str) -> str:
    """The layer a module belongs to: ``ledger.<package>``, or a top-level package."""
    parts = module.split(".")
    return f"ledger.{parts[1]}" if parts[0] == "ledger" and len(parts) > 1 else parts[0]


def _modules() -> dict[str, Path]:
    found = {}
    for top in OURS:
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
    return {name for name in imported if name.split(".")[0] in OURS}


def _dependencies() -> dict[str, dict[str, set[str]]]:
    """For each layer: the layers it imports, each with the modules that import it."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module, path in _modules().items():
        for imported in _imports(path):
            if _unit(imported) != _unit(module):
                found[_unit(module)][_unit(imported)].add(module)
    return found


def test_every_package_has_a_row_in_the_map() -> None:
    assert {_unit(module) for module in _modules()} == set(ALLOWED)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_package_imports_only_what_its_row_allows(layer: str) -> None:
    wrong = {
        imported: sorted(importers)
        for imported, importers in _dependencies()[layer].items()
        if imported not in ALLOWED[layer]
    }
    assert wrong == {}


def test_nothing_outside_the_edges_imports_the_api_the_cli_the_web_or_the_runtime() -> None:
    offenders = sorted(
        module
        for module, path in _modules().items()
        if _unit(module) not in EDGES
        and any(_unit(imported) in EDGES for imported in _imports(path))
    )
    assert offenders == []


def test_the_map_has_no_cycles() -> None:
    done: set[str] = set()

    def visit(layer: str, path: tuple[str, ...]) -> None:
        assert layer not in path, f"cycle: {' -> '.join((*path, layer))}"
        if layer in done:
            return
        for below in ALLOWED[layer]:
            visit(below, (*path, layer))
        done.add(layer)

    for layer in ALLOWED:
        visit(layer, ())


def test_anchors_and_the_core_import_without_the_web_stack() -> None:
    statements = (
        "import importlib, pkgutil\n"
        "for name in ('anchors', 'consumers', 'ledger.domain', 'ledger.persistence',\n"
        "             'ledger.application', 'ledger.formats', 'ledger.verify', 'ledger.audit'):\n"
        "    package = importlib.import_module(name)\n"
        "    for found in pkgutil.walk_packages(package.__path__, name + '.'):\n"
        "        importlib.import_module(found.name)\n"
    )
    assert modules_loaded(statements, ("fastapi", "starlette", "uvicorn")) == []


def test_the_read_model_process_starts_without_the_chain_client_or_the_web_stack() -> None:
    # It is on the path of a start and of every write's answer after a restart: the chain
    # client (web3, eth-account and the BLS code it loads) and the API were most of its start.
    statements = "import ledger.runtime.consumer_process, ledger.runtime.read_model_keeper"
    heavy = ("web3", "eth_account", "py_ecc.bls", "aiohttp", "fastapi", "uvicorn")
    assert modules_loaded(statements, heavy) == []


def _named_paths(document: str) -> set[str]:
    text = (ROOT / document).read_text("utf-8")
    return set(re.findall(r"`((?:ledger|consumers|anchors)/[\w/.]*)`", text))


@pytest.mark.parametrize("document", ["README.md", "docs/architecture.md"])
def test_every_path_the_documentation_names_exists(document: str) -> None:
    assert sorted(p for p in _named_paths(document) if not (ROOT / p).exists()) == []


def test_the_architecture_page_has_a_row_for_every_package() -> None:
    rows = {
        path.rstrip("/").removesuffix(".py").replace("/", ".")
        for path in _named_paths("docs/architecture.md")
        if path.endswith(("/", ".py"))
    }
    packages = {layer for layer in ALLOWED if layer != "ledger"}
    assert packages - {_unit(row) for row in rows} == set()
