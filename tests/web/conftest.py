"""The browsers the page tests drive: Debian's Chromium under Playwright, screenshots and
axe-core's WCAG 2.1 A/AA audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import STORE

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
AXE = ROOT / ".deploy" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# The pages do not depend on the store: the SQLite pass runs their tests.
ON_SQLITE_ONLY = pytest.mark.skipif(
    STORE != "sqlite", reason="the pages do not depend on the store: the SQLite pass runs them"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "tests/run.sh installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def audited_page(browser: Browser) -> Iterator[Page]:
    """A page whose Content-Security-Policy lets axe-core be injected (for the audit only)."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True)
    opened = context.new_page()
    yield opened
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds against the WCAG 2.1 A and AA rules on the page as shown."""
    assert AXE.exists(), "tests/run.sh installs axe-core"
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations
            .map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return found
